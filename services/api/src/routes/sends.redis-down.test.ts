import { createTestDatabase, createTestRedis, type TestDatabase } from '@outbound/test/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedGroups, seedOrganization, seedSession } from '../test-support/seed.ts';
import { startTestApp, type TestApp } from '../test-support/test-app.ts';
import { sendAcceptedSchema } from './sends.schema.ts';

const redis = createTestRedis();
let database: TestDatabase;
let api: TestApp;

beforeAll(async () => {
  database = await createTestDatabase();
  // Nothing listens on port 1: every enqueue fails.
  api = await startTestApp(database, redis, { redisUrl: 'redis://127.0.0.1:1' });
});

afterAll(async () => {
  await api.stop();
  await database.drop();
  await redis.clear();
});

describe('POST /v2/outbound/sends with Redis down', () => {
  it('still answers 202 accepted with its rows committed, and logs the failed enqueue', async () => {
    const acme = await seedOrganization(database.db);
    const sessionId = await seedSession(database.db, acme.organizationId);
    const groupIds = await seedGroups(database.db, acme.organizationId, [sessionId], 2);

    const started = Date.now();
    const response = await fetch(`${api.url}/v2/outbound/sends`, {
      method: 'POST',
      headers: { ...acme.headers, 'Content-Type': 'application/json' },
      body: JSON.stringify({
        session_id: sessionId,
        group_ids: groupIds,
        idempotency_key: 'redis-down',
        text: 'later',
      }),
    });
    expect(response.status).toBe(202);
    expect(Date.now() - started).toBeLessThan(5_000);
    const { status, send } = sendAcceptedSchema.parse(await response.json());
    expect(status).toBe('accepted');

    const deliveries = await database.db
      .selectFrom('deliveries')
      .select(['id', 'status'])
      .where('send_id', '=', send.send_id)
      .orderBy('id')
      .execute();
    expect(deliveries).toEqual(
      send.results.map((result) => ({ id: result.recipient_send_id, status: 'queued' })),
    );
    expect(
      api.logs().find((line) => line.msg?.toString().startsWith('enqueue after commit failed')),
    ).toMatchObject({ level: 40, send_id: send.send_id, deliveries: 2 });
  });
});
