import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  createTestRedis,
  testEnv,
  type TestDatabase,
  type TestRedis,
} from '../support/harness.ts';
import { startStack, type Stack } from '../support/stack.ts';

interface SendStatus {
  send: {
    send_id: string;
    status: string;
    results: {
      recipient_send_id: string;
      group_id: string;
      status: string;
      provider_message_id: string | null;
    }[];
  };
}

/**
 * The reference's example request, with seeded ids and a text, through the API and a dispatcher
 * process to the sandbox: accepted, then every recipient sent, each chat receiving it once.
 */
describe('a WhatsApp send, end to end', () => {
  let database: TestDatabase;
  let redis: TestRedis;
  let stack: Stack | undefined;

  beforeAll(async () => {
    database = await createTestDatabase();
    redis = createTestRedis();
  });
  afterAll(async () => {
    await Promise.all([stack?.api.stop('SIGKILL'), stack?.dispatcher.stop('SIGKILL')]);
    await redis.clear();
    await database.drop();
  });

  it('delivers the reference example to every group once', async () => {
    const env = testEnv(database, redis, { HOST: '127.0.0.1', LOG_LEVEL: 'info' });
    stack = await startStack(env);
    const { url } = stack;

    const demo = await stack.seedDemo();
    const headers = {
      Authorization: `Bearer ${demo.api_key}`,
      'Content-Type': 'application/json',
    };

    const accepted = await fetch(`${url}/v2/outbound/sends`, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        session_id: demo.sessions.working,
        group_ids: demo.group_ids,
        idempotency_key: 'frontend-outbound-018f06e2',
        text: 'Hello from the reference example',
      }),
    });
    expect(accepted.status).toBe(202);
    const body = (await accepted.json()) as { status: string; send: { send_id: string } };
    expect(body.status).toBe('accepted');

    let status: SendStatus | undefined;
    for (let attempt = 0; attempt < 100; attempt += 1) {
      const response = await fetch(`${url}/v2/outbound/sends/${body.send.send_id}`, { headers });
      status = (await response.json()) as SendStatus;
      if (status.send.status === 'sent') break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(status?.send.status).toBe('sent');
    expect(status?.send.results.map((result) => result.group_id).sort()).toEqual(
      [...demo.group_ids].sort(),
    );
    for (const result of status?.send.results ?? []) {
      expect(result.status).toBe('sent');
      expect(typeof result.provider_message_id).toBe('string');
    }

    const groups = await database.db
      .selectFrom('groups')
      .select(['id', 'chat_id'])
      .where('id', 'in', demo.group_ids)
      .execute();
    const delivered = await database.db
      .selectFrom('sandbox_messages')
      .select(['recipient', 'content'])
      .execute();
    expect(delivered.map((message) => message.recipient).sort()).toEqual(
      groups.map((group) => group.chat_id).sort(),
    );
    for (const message of delivered) {
      expect(JSON.stringify(message.content)).toContain('Hello from the reference example');
    }
  });
});
