import type { Agent } from '@outbound/db';
import { createTestDatabase, createTestRedis, type TestDatabase } from '@outbound/test/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  conversationDraftCount,
  conversationsClient,
  readConversationDraft,
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
let conversationId: number;
let otherConversationId: number;
let ada: Agent;
let bob: Agent;
let foreignAgent: Agent;

beforeAll(async () => {
  database = await createTestDatabase();
  api = await startTestApp(database, redis);
  acme = await seedOrganization(database.db, 'acme');
  other = await seedOrganization(database.db, 'other');
  client = conversationsClient(api.url, acme);
  conversationId = await seedConversation(database.db, acme.organizationId);
  otherConversationId = await seedConversation(database.db, other.organizationId);
  ada = await seedAgent(database.db, acme.organizationId, 'ada@acme.test');
  bob = await seedAgent(database.db, acme.organizationId, 'bob@acme.test');
  // Same address as one of acme's agents: an email is looked up within the caller's organization.
  foreignAgent = await seedAgent(database.db, other.organizationId, 'eve@other.test');
  await seedAgent(database.db, other.organizationId, 'bob@acme.test');
});

afterAll(async () => {
  await api.stop();
  await database.drop();
  await redis.clear();
});

/** Posts, expects the status and code, and checks nothing was written. */
async function expectRefused(
  body: unknown,
  status: number,
  code: string,
  conversation: number | string = conversationId,
) {
  const before = await conversationDraftCount(database.db);
  const response = await client.createDraft(conversation, body);
  const error = await readError(response);
  expect({ status: response.status, code: error.error.code }).toEqual({ status, code });
  expect(await conversationDraftCount(database.db)).toBe(before);
  return error.error;
}

function issuePaths(details: Record<string, unknown> | null): string[] {
  return (details?.issues as { path: string }[]).map((issue) => issue.path);
}

describe('POST /v3/conversations/{conversation_id}/drafts', () => {
  it('works as the reference example is written, with real ids and X-API-Key', async () => {
    const response = await fetch(`${api.url}/v3/conversations/${conversationId}/drafts`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-API-Key': acme.key },
      body: JSON.stringify({
        content: 'Thanks for waiting: your order ships today.',
        author_id: ada.id,
        author_email: ada.email,
        target_id: bob.id,
        target_email: bob.email,
        title: 'Shipping update',
      }),
    });
    expect(response.status).toBe(201);
    const draft = await readConversationDraft(response);
    expect(draft).toEqual({
      created: expect.any(String) as string,
      last_updated: expect.any(String) as string,
      conversation_id: conversationId,
      id: expect.any(Number) as number,
      title: 'Shipping update',
      content: { content: 'Thanks for waiting: your order ships today.' },
      author_id: ada.id,
      target_id: bob.id,
    });
    expect(Number.isSafeInteger(draft.id)).toBe(true);
    expect(Date.parse(draft.created)).toBeGreaterThan(Date.now() - 60_000);
    expect(draft.created).toMatch(/Z$/);
    const row = await database.db
      .selectFrom('conversation_drafts')
      .selectAll()
      .where('id', '=', draft.id)
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({
      organization_id: acme.organizationId,
      conversation_id: conversationId,
      author_id: ada.id,
      target_id: bob.id,
      content: { content: 'Thanks for waiting: your order ships today.' },
    });
  });

  it('takes the author by id alone or by email alone (any case); no target means everyone', async () => {
    const byId = await client.createDraft(conversationId, { content: 'a', author_id: bob.id });
    expect(byId.status).toBe(201);
    expect(await readConversationDraft(byId)).toMatchObject({
      author_id: bob.id,
      target_id: null,
      title: null,
      content: { content: 'a' },
    });

    const byEmail = await client.createDraft(conversationId, {
      content: 'b',
      author_email: 'ADA@acme.test',
      target_id: null,
      title: null,
    });
    expect(byEmail.status).toBe(201);
    expect(await readConversationDraft(byEmail)).toMatchObject({
      author_id: ada.id,
      target_id: null,
    });
  });

  it('takes the target by id or by email', async () => {
    const byId = await client.createDraft(conversationId, {
      content: 'c',
      author_id: ada.id,
      target_id: bob.id,
    });
    expect((await readConversationDraft(byId)).target_id).toBe(bob.id);
    const byEmail = await client.createDraft(conversationId, {
      content: 'd',
      author_id: ada.id,
      target_email: bob.email,
    });
    expect((await readConversationDraft(byEmail)).target_id).toBe(bob.id);
    const self = await client.createDraft(conversationId, {
      content: 'e',
      author_email: ada.email,
      target_email: ada.email,
    });
    expect(await readConversationDraft(self)).toMatchObject({
      author_id: ada.id,
      target_id: ada.id,
    });
  });

  it('keeps the content string as given, inside the content object', async () => {
    const text = '<p>Hello "Diana"</p>\n\nÇa va ? 👋';
    const response = await client.createDraft(conversationId, {
      content: text,
      author_id: ada.id,
    });
    const draft = await readConversationDraft(response);
    expect(draft.content).toEqual({ content: text });
    const empty = await client.createDraft(conversationId, { content: '', author_id: ada.id });
    expect((await readConversationDraft(empty)).content).toEqual({ content: '' });
  });

  it('bounds the title to 250 characters', async () => {
    const longest = await client.createDraft(conversationId, {
      content: 'x',
      author_id: ada.id,
      title: 't'.repeat(250),
    });
    expect(longest.status).toBe(201);
    expect((await readConversationDraft(longest)).title).toHaveLength(250);
    // Characters, not UTF-16 units: 250 emoji fit as Postgres counts them.
    const emoji = await client.createDraft(conversationId, {
      content: 'x',
      author_id: ada.id,
      title: '😀'.repeat(250),
    });
    expect(emoji.status).toBe(201);

    const error = await expectRefused(
      { content: 'x', author_id: ada.id, title: 't'.repeat(251) },
      400,
      'validation_failed',
    );
    expect(issuePaths(error.details)).toEqual(['title']);
    expect(error.message).toContain('title must be at most 250 characters');
  });

  it('requires content, as a string', async () => {
    expect(
      issuePaths((await expectRefused({ author_id: ada.id }, 400, 'validation_failed')).details),
    ).toEqual(['content']);
    expect(
      issuePaths(
        (
          await expectRefused(
            { author_id: ada.id, content: { text: 'hi' } },
            400,
            'validation_failed',
          )
        ).details,
      ),
    ).toEqual(['content']);
    await expectRefused({ author_id: ada.id, content: 'nul \u0000' }, 400, 'validation_failed');
  });

  it('requires an author, naming author_id', async () => {
    const error = await expectRefused({ content: 'x' }, 400, 'validation_failed');
    expect(error.details).toEqual({
      issues: [
        {
          location: 'body',
          path: 'author_id',
          code: 'missing_author',
          message: 'give author_id or author_email: the agent writing the draft',
        },
      ],
    });
    await expectRefused(
      { content: 'x', author_id: null, author_email: null, target_id: bob.id },
      400,
      'validation_failed',
    );
  });

  it('answers 404 naming the field when an agent is unknown, or another organization’s', async () => {
    const cases: [Record<string, unknown>, string, unknown][] = [
      [{ author_id: 999_999 }, 'author_id', 999_999],
      [{ author_id: foreignAgent.id }, 'author_id', foreignAgent.id],
      [{ author_email: 'nobody@acme.test' }, 'author_email', 'nobody@acme.test'],
      [{ author_email: 'eve@other.test' }, 'author_email', 'eve@other.test'],
      [{ author_id: ada.id, target_id: 999_999 }, 'target_id', 999_999],
      [{ author_id: ada.id, target_id: foreignAgent.id }, 'target_id', foreignAgent.id],
      [{ author_id: ada.id, target_email: 'eve@other.test' }, 'target_email', 'eve@other.test'],
    ];
    for (const [fields, field, value] of cases) {
      const error = await expectRefused({ content: 'x', ...fields }, 404, 'not_found');
      expect(error.details).toEqual({ field, [field]: value });
      expect(error.message).toMatch(new RegExp(`^${field}: no agent with`));
    }
  });

  it('refuses an id and an email that name different agents (400 on the email field)', async () => {
    const author = await expectRefused(
      { content: 'x', author_id: ada.id, author_email: bob.email },
      400,
      'validation_failed',
    );
    expect(author.details).toMatchObject({
      issues: [{ location: 'body', path: 'author_email', code: 'agent_mismatch' }],
    });
    expect(author.message).toContain(`author_email bob@acme.test is agent ${bob.id}`);
    const target = await expectRefused(
      { content: 'x', author_id: ada.id, target_id: ada.id, target_email: bob.email },
      400,
      'validation_failed',
    );
    expect(issuePaths(target.details)).toEqual(['target_email']);
  });

  it('answers 404 naming the conversation when it is unknown or another organization’s', async () => {
    for (const id of [otherConversationId, 987_654]) {
      const error = await expectRefused({ content: 'x', author_id: ada.id }, 404, 'not_found', id);
      expect(error).toEqual({
        code: 'not_found',
        message: `conversation ${id} not found`,
        details: { conversation_id: id },
      });
    }
    // The other organization, with its own agent, cannot reach acme's conversation either.
    const theirs = await conversationsClient(api.url, other).createDraft(conversationId, {
      content: 'x',
      author_id: foreignAgent.id,
    });
    expect(theirs.status).toBe(404);
    expect((await readError(theirs)).error.details).toEqual({ conversation_id: conversationId });
  });

  it('refuses ids that are not positive integers, unknown fields and bad emails', async () => {
    for (const id of ['abc', '0', '-1', '1.5', '1e3', '99999999999999999999']) {
      const error = await expectRefused(
        { content: 'x', author_id: ada.id },
        400,
        'validation_failed',
        id,
      );
      expect(error.details).toMatchObject({
        issues: [{ location: 'params', path: 'conversation_id' }],
      });
    }
    expect(
      issuePaths(
        (await expectRefused({ content: 'x', author_id: '1' }, 400, 'validation_failed')).details,
      ),
    ).toEqual(['author_id']);
    expect(
      issuePaths(
        (await expectRefused({ content: 'x', author_id: 1.5 }, 400, 'validation_failed')).details,
      ),
    ).toEqual(['author_id']);
    expect(
      issuePaths(
        (
          await expectRefused(
            { content: 'x', author_email: 'not an email' },
            400,
            'validation_failed',
          )
        ).details,
      ),
    ).toEqual(['author_email']);
    const unknown = await expectRefused(
      { content: 'x', author_id: ada.id, status: 'draft' },
      400,
      'validation_failed',
    );
    expect(unknown.message).toContain('status');
  });

  it('needs an API key', async () => {
    const response = await fetch(`${api.url}/v3/conversations/${conversationId}/drafts`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ content: 'x', author_id: ada.id }),
    });
    expect(response.status).toBe(401);
  });
});
