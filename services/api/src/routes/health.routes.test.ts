import { createDb } from '@outbound/db';
import { createTestDatabase, createTestRedis, type TestDatabase } from '@outbound/test/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readError } from '../test-support/error-body.ts';
import { startTestApp, type TestApp } from '../test-support/test-app.ts';

const redis = createTestRedis();
let database: TestDatabase;
let api: TestApp;

beforeAll(async () => {
  database = await createTestDatabase();
  api = await startTestApp(database, redis);
});

afterAll(async () => {
  await api.stop();
  await database.drop();
  await redis.clear();
});

describe('GET /healthz', () => {
  it('answers 200 while the process is up', async () => {
    const response = await fetch(`${api.url}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
  });
});

describe('GET /readyz', () => {
  it('answers 200 with each dependency when Postgres and Redis answer', async () => {
    const response = await fetch(`${api.url}/readyz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      status: 'ok',
      checks: { postgres: 'ok', redis: 'ok' },
    });
  });

  it('answers 503 naming redis when Redis is unreachable', async () => {
    const down = await startTestApp(database, redis, { redisUrl: 'redis://127.0.0.1:1' });
    try {
      const response = await fetch(`${down.url}/readyz`);
      expect(response.status).toBe(503);
      const body = await readError(response);
      expect(body.error.code).toBe('service_unavailable');
      expect(body.error.message).toMatch(/redis/);
      expect(body.error.message).not.toMatch(/postgres/);
      expect(body.error.details).toEqual({ checks: { postgres: 'ok', redis: 'down' } });
    } finally {
      await down.stop();
    }
  });

  it('answers 503 naming postgres when the database is unreachable', async () => {
    const db = createDb({ connectionString: 'postgres://postgres@127.0.0.1:1/none' });
    const down = await startTestApp(database, redis, { db });
    try {
      const response = await fetch(`${down.url}/readyz`);
      expect(response.status).toBe(503);
      const body = await readError(response);
      expect(body.error.message).toMatch(/postgres/);
      expect(body.error.message).not.toMatch(/redis/);
      expect(body.error.details).toEqual({ checks: { postgres: 'down', redis: 'ok' } });
    } finally {
      await down.stop();
      await db.destroy();
    }
  });
});
