import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createTestDatabase, createTestRedis, type TestDatabase } from '@outbound/test/harness';
import type { SeededDemo } from '@outbound/test/stack';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readConversationDraft } from '../test-support/conversation-seed.ts';
import { startTestApp, type TestApp } from '../test-support/test-app.ts';

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('../../../cli/src/main.ts', import.meta.url));

const redis = createTestRedis();
let database: TestDatabase;
let api: TestApp;
let demo: SeededDemo;

beforeAll(async () => {
  database = await createTestDatabase();
  api = await startTestApp(database, redis);
  // The CLI as an operator runs it, against this file's database.
  const { stdout } = await run(process.execPath, [CLI, 'seed-demo', '--json'], {
    env: {
      NODE_ENV: 'test',
      DATABASE_URL: database.url,
      LOG_LEVEL: 'silent',
      MIGRATE_ON_START: 'false',
    },
    timeout: 15_000,
  });
  demo = JSON.parse(stdout) as SeededDemo;
});

afterAll(async () => {
  await api.stop();
  await database.drop();
  await redis.clear();
});

describe('the reference example with the ids seed-demo prints', () => {
  it('creates the draft, and the conversation and draft can be read back', async () => {
    const [author, target] = demo.agents;
    const response = await fetch(`${api.url}/v3/conversations/${demo.conversation_id}/drafts`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-API-Key': demo.api_key },
      body: JSON.stringify({
        content: 'Your order left our warehouse this morning.',
        author_id: author!.id,
        author_email: author!.email,
        target_id: target!.id,
        target_email: target!.email,
        title: 'Shipping update',
      }),
    });
    expect(response.status).toBe(201);
    const draft = await readConversationDraft(response);
    expect(draft).toMatchObject({
      conversation_id: demo.conversation_id,
      author_id: author!.id,
      target_id: target!.id,
      title: 'Shipping update',
      content: { content: 'Your order left our warehouse this morning.' },
    });

    const conversation = await fetch(`${api.url}/v3/conversations/${demo.conversation_id}`, {
      headers: { 'X-API-Key': demo.second_actor.api_key },
    });
    expect(conversation.status).toBe(200);
    expect(await conversation.json()).toMatchObject({
      id: demo.conversation_id,
      messages: [{ direction: 'inbound' }],
    });
    const detail = await fetch(`${api.url}/v3/response-drafts/${draft.id}`, {
      headers: { 'X-API-Key': demo.api_key },
    });
    expect(await readConversationDraft(detail)).toEqual(draft);
  });
});
