import type { Agent } from '@outbound/db';
import { createTestDatabase, createTestRedis, type TestDatabase } from '@outbound/test/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  conversationsClient,
  readConversationDraft,
  readConversationDraftList,
  seedAgent,
  seedConversation,
} from '../test-support/conversation-seed.ts';
import { readError } from '../test-support/error-body.ts';
import { seedOrganization, type SeededOrganization } from '../test-support/seed.ts';
import { startTestApp, type TestApp } from '../test-support/test-app.ts';

const redis = createTestRedis();
let database: TestDatabase;
let api: TestApp;
let acme: SeededOrganization;
let other: SeededOrganization;
let client: ReturnType<typeof conversationsClient>;
let theirClient: ReturnType<typeof conversationsClient>;
let ada: Agent;
let theirAgent: Agent;

beforeAll(async () => {
  database = await createTestDatabase();
  api = await startTestApp(database, redis);
  acme = await seedOrganization(database.db, 'acme');
  other = await seedOrganization(database.db, 'other');
  client = conversationsClient(api.url, acme);
  theirClient = conversationsClient(api.url, other);
  ada = await seedAgent(database.db, acme.organizationId, 'ada@acme.test');
  theirAgent = await seedAgent(database.db, other.organizationId, 'eve@other.test');
});

afterAll(async () => {
  await api.stop();
  await database.drop();
  await redis.clear();
});

async function createDraft(conversationId: number, content: string, org = client, author = ada) {
  const response = await org.createDraft(conversationId, { content, author_id: author.id });
  expect(response.status).toBe(201);
  return readConversationDraft(response);
}

describe('GET /v3/conversations/{conversation_id}/drafts', () => {
  it('lists one conversation’s drafts newest first, page by page', async () => {
    const conversationId = await seedConversation(database.db, acme.organizationId);
    const elsewhere = await seedConversation(database.db, acme.organizationId);
    const created = [];
    for (let i = 0; i < 5; i += 1) created.push(await createDraft(conversationId, `draft ${i}`));
    await createDraft(elsewhere, 'not in this conversation');

    const first = await client.listDrafts(conversationId, '?limit=2');
    expect(first.status).toBe(200);
    const page1 = await readConversationDraftList(first);
    expect(page1.data).toEqual([created[4], created[3]]);
    expect(page1.pagination).toMatchObject({ limit: 2, cursor: null, has_more: true });
    const cursor1 = page1.pagination.next_cursor!;

    const page2 = await readConversationDraftList(
      await client.listDrafts(conversationId, `?limit=2&cursor=${cursor1}`),
    );
    expect(page2.data.map((draft) => draft.content.content)).toEqual(['draft 2', 'draft 1']);
    expect(page2.pagination).toMatchObject({ cursor: cursor1, has_more: true });

    const page3 = await readConversationDraftList(
      await client.listDrafts(conversationId, `?limit=2&cursor=${page2.pagination.next_cursor}`),
    );
    expect(page3.data).toEqual([created[0]]);
    expect(page3.pagination).toMatchObject({ has_more: false, next_cursor: null });

    const all = await readConversationDraftList(await client.listDrafts(conversationId));
    expect(all.pagination.limit).toBe(25);
    expect(all.data.map((draft) => draft.id)).toEqual(created.map((draft) => draft.id).reverse());
  });

  it('answers an empty page for a conversation without drafts', async () => {
    const conversationId = await seedConversation(database.db, acme.organizationId);
    const page = await readConversationDraftList(await client.listDrafts(conversationId));
    expect(page).toEqual({
      data: [],
      pagination: { limit: 25, cursor: null, next_cursor: null, has_more: false },
    });
  });

  it('refuses a cursor of another conversation, a garbled one, and a bad limit', async () => {
    const conversationId = await seedConversation(database.db, acme.organizationId);
    const elsewhere = await seedConversation(database.db, acme.organizationId);
    await createDraft(conversationId, 'one');
    await createDraft(conversationId, 'two');
    const page = await readConversationDraftList(
      await client.listDrafts(conversationId, '?limit=1'),
    );
    const cursor = page.pagination.next_cursor!;

    const replayed = await client.listDrafts(elsewhere, `?cursor=${cursor}`);
    expect(replayed.status).toBe(400);
    expect((await readError(replayed)).error.details).toMatchObject({
      issues: [{ location: 'query', path: 'cursor', code: 'cursor_mismatch' }],
    });
    const garbled = await client.listDrafts(conversationId, '?cursor=not-a-cursor');
    expect((await readError(garbled)).error.details).toMatchObject({
      issues: [{ path: 'cursor', code: 'invalid_cursor' }],
    });
    for (const limit of ['0', '101', 'x']) {
      const response = await client.listDrafts(conversationId, `?limit=${limit}`);
      expect(response.status).toBe(400);
    }
  });

  it('answers 404 for another organization’s conversation, and lists only its own', async () => {
    const theirs = await seedConversation(database.db, other.organizationId);
    await createDraft(theirs, 'their draft', theirClient, theirAgent);
    const response = await client.listDrafts(theirs);
    expect(response.status).toBe(404);
    expect((await readError(response)).error).toEqual({
      code: 'not_found',
      message: `conversation ${theirs} not found`,
      details: { conversation_id: theirs },
    });
    const own = await readConversationDraftList(await theirClient.listDrafts(theirs));
    expect(own.data.map((draft) => draft.content.content)).toEqual(['their draft']);
  });
});

describe('GET and DELETE /v3/conversations/{conversation_id}/drafts/{draft_id}', () => {
  it('gets a draft as it was created', async () => {
    const conversationId = await seedConversation(database.db, acme.organizationId);
    const created = await createDraft(conversationId, 'hello');
    const response = await client.getDraft(conversationId, created.id);
    expect(response.status).toBe(200);
    expect(await readConversationDraft(response)).toEqual(created);
  });

  it('answers 404 for a draft of another conversation or organization, naming what is missing', async () => {
    const conversationId = await seedConversation(database.db, acme.organizationId);
    const elsewhere = await seedConversation(database.db, acme.organizationId);
    const created = await createDraft(conversationId, 'hello');

    const wrongConversation = await client.getDraft(elsewhere, created.id);
    expect(wrongConversation.status).toBe(404);
    expect((await readError(wrongConversation)).error.details).toEqual({ draft_id: created.id });

    const theirs = await theirClient.getDraft(conversationId, created.id);
    expect(theirs.status).toBe(404);
    expect((await readError(theirs)).error.details).toEqual({ conversation_id: conversationId });

    const unknown = await client.getDraft(conversationId, 424_242);
    expect((await readError(unknown)).error.message).toBe('draft 424242 not found');
    expect((await client.getDraft(conversationId, 'abc')).status).toBe(400);
  });

  it('deletes a draft with 204, after which it is gone', async () => {
    const conversationId = await seedConversation(database.db, acme.organizationId);
    const kept = await createDraft(conversationId, 'kept');
    const doomed = await createDraft(conversationId, 'doomed');

    const deleted = await client.deleteDraft(conversationId, doomed.id);
    expect(deleted.status).toBe(204);
    expect(await deleted.text()).toBe('');
    expect((await client.getDraft(conversationId, doomed.id)).status).toBe(404);
    const again = await client.deleteDraft(conversationId, doomed.id);
    expect(again.status).toBe(404);
    expect((await readError(again)).error.details).toEqual({ draft_id: doomed.id });

    const left = await readConversationDraftList(await client.listDrafts(conversationId));
    expect(left.data).toEqual([kept]);
  });

  it('does not delete through another conversation or organization', async () => {
    const conversationId = await seedConversation(database.db, acme.organizationId);
    const elsewhere = await seedConversation(database.db, acme.organizationId);
    const created = await createDraft(conversationId, 'stays');

    expect((await client.deleteDraft(elsewhere, created.id)).status).toBe(404);
    expect((await theirClient.deleteDraft(conversationId, created.id)).status).toBe(404);
    expect((await client.getDraft(conversationId, created.id)).status).toBe(200);
  });
});
