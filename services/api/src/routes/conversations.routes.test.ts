import type { Agent } from '@outbound/db';
import { encodeOpaqueId } from '@outbound/domain';
import { createTestDatabase, createTestRedis, type TestDatabase } from '@outbound/test/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conversationRoute, responseDraftRoute } from '../conversations/route-hints.ts';
import {
  conversationsClient,
  readConversationDraft,
  seedAgent,
  seedConversation,
  seedInboundMessage,
} from '../test-support/conversation-seed.ts';
import { readError } from '../test-support/error-body.ts';
import { seedOrganization, type SeededOrganization } from '../test-support/seed.ts';
import { startTestApp, type TestApp } from '../test-support/test-app.ts';
import { conversationSchema } from './conversations.schema.ts';

const redis = createTestRedis();
let database: TestDatabase;
let api: TestApp;
let acme: SeededOrganization;
let other: SeededOrganization;
let client: ReturnType<typeof conversationsClient>;
let theirClient: ReturnType<typeof conversationsClient>;
let ada: Agent;
let conversationId: number;

beforeAll(async () => {
  database = await createTestDatabase();
  api = await startTestApp(database, redis);
  acme = await seedOrganization(database.db, 'acme');
  other = await seedOrganization(database.db, 'other');
  client = conversationsClient(api.url, acme);
  theirClient = conversationsClient(api.url, other);
  ada = await seedAgent(database.db, acme.organizationId, 'ada@acme.test');
  conversationId = await seedConversation(database.db, acme.organizationId, 'Order 1042');
});

afterAll(async () => {
  await api.stop();
  await database.drop();
  await redis.clear();
});

async function createDraft(content: string) {
  const response = await client.createDraft(conversationId, {
    content,
    author_id: ada.id,
    title: 'Reply',
  });
  expect(response.status).toBe(201);
  return readConversationDraft(response);
}

describe('GET /v3/response-drafts/{draft_id}', () => {
  it('answers the draft by its opaque id, and by its integer id', async () => {
    const created = await createDraft('by any id');
    const opaque = encodeOpaqueId('response_draft', created.id);

    const byOpaque = await client.get(`/v3/response-drafts/${opaque}`);
    expect(byOpaque.status).toBe(200);
    expect(await readConversationDraft(byOpaque)).toEqual(created);

    const byInteger = await client.get(`/v3/response-drafts/${created.id}`);
    expect(byInteger.status).toBe(200);
    expect(await readConversationDraft(byInteger)).toEqual(created);
  });

  it('is where responseDraftRoute points', async () => {
    const created = await createDraft('hinted');
    const hint = responseDraftRoute(encodeOpaqueId('response_draft', created.id));
    expect(hint).toBe(`/v3/response-drafts/${encodeOpaqueId('response_draft', created.id)}`);
    expect(await readConversationDraft(await client.get(hint))).toEqual(created);
  });

  it('answers 404 for another organization’s draft, a deleted one, and other kinds of id', async () => {
    const created = await createDraft('mine');
    const opaque = encodeOpaqueId('response_draft', created.id);
    expect((await theirClient.get(`/v3/response-drafts/${opaque}`)).status).toBe(404);
    expect((await theirClient.get(`/v3/response-drafts/${created.id}`)).status).toBe(404);

    const gone = await createDraft('gone');
    expect((await client.deleteDraft(conversationId, gone.id)).status).toBe(204);
    const deleted = await client.get(responseDraftRoute(encodeOpaqueId('response_draft', gone.id)));
    expect(deleted.status).toBe(404);

    const messageDraftId = encodeOpaqueId('message_draft', crypto.randomUUID());
    const wrongKind = await client.get(`/v3/response-drafts/${messageDraftId}`);
    expect(wrongKind.status).toBe(404);
    expect((await readError(wrongKind)).error.details).toEqual({
      draft_id: messageDraftId,
      kind: 'message_draft',
    });
    // The same number, as another kind's opaque id, names no response draft.
    const agentId = encodeOpaqueId('agent', created.id);
    expect((await client.get(`/v3/response-drafts/${agentId}`)).status).toBe(404);
    const notNumeric = encodeOpaqueId('response_draft', 'abc');
    expect((await client.get(`/v3/response-drafts/${notNumeric}`)).status).toBe(404);
  });

  it('answers 400 for an id that is neither opaque nor an integer', async () => {
    for (const id of ['abc', '0', '-3', 'ob_!!']) {
      const response = await client.get(`/v3/response-drafts/${id}`);
      expect(response.status).toBe(400);
      expect((await readError(response)).error.details).toMatchObject({
        issues: [{ location: 'params', path: 'draft_id', code: 'invalid_draft_id' }],
      });
    }
  });
});

describe('GET /v3/conversations/{conversation_id}', () => {
  it('answers the conversation with its messages, oldest first', async () => {
    const id = await seedConversation(database.db, acme.organizationId, 'Refund');
    await seedInboundMessage(database.db, acme.organizationId, id, '<p>first</p>');
    await seedInboundMessage(database.db, acme.organizationId, id, '<p>second</p>');

    const response = await client.getConversation(id);
    expect(response.status).toBe(200);
    const conversation = conversationSchema.strict().parse(await response.json());
    expect(conversation).toMatchObject({
      id,
      modality: 'email',
      subject: 'Refund',
      recipient_name: 'Diana Prince',
      recipient_email: 'diana@example.test',
      recipient_phone_number: null,
    });
    expect(conversation.messages.map((message) => message.body_html)).toEqual([
      '<p>first</p>',
      '<p>second</p>',
    ]);
    expect(conversation.messages[0]).toMatchObject({
      direction: 'inbound',
      subject: 'Re: order',
      send_id: null,
    });
    // Appending a message moved the conversation's last update to it.
    expect(conversation.last_updated).toBe(conversation.messages[1]!.created);
  });

  it('is where conversationRoute points, and answers no messages for a new one', async () => {
    const hint = conversationRoute(conversationId);
    expect(hint).toBe(`/v3/conversations/${conversationId}`);
    const response = await client.get(hint);
    expect(response.status).toBe(200);
    const conversation = conversationSchema.strict().parse(await response.json());
    expect(conversation).toMatchObject({ id: conversationId, subject: 'Order 1042', messages: [] });
  });

  it('answers 404 naming the conversation when it is unknown or another organization’s', async () => {
    for (const [caller, id] of [
      [theirClient, conversationId],
      [client, 9_999_999],
    ] as const) {
      const response = await caller.getConversation(id);
      expect(response.status).toBe(404);
      expect((await readError(response)).error).toEqual({
        code: 'not_found',
        message: `conversation ${id} not found`,
        details: { conversation_id: id },
      });
    }
    expect((await client.getConversation('x1')).status).toBe(400);
  });
});
