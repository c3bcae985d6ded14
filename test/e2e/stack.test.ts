import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  createTestRedis,
  testEnv,
  type TestDatabase,
  type TestRedis,
} from '../support/harness.ts';
import { startStack, type Stack } from '../support/stack.ts';

/**
 * The whole stack as the README runs it: API and dispatcher processes on one database and
 * Redis, and the CLI's seed-demo key accepted by the API.
 */
describe('API + dispatcher + CLI', () => {
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

  it('serves health, accepts the seeded key, and stops cleanly', async () => {
    const env = testEnv(database, redis, { HOST: '127.0.0.1', LOG_LEVEL: 'info' });
    stack = await startStack(env);
    const { url, api, dispatcher } = stack;

    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(200);

    const demo = await stack.seedDemo();

    const asBearer = await fetch(`${url}/v2/me`, {
      headers: { Authorization: `Bearer ${demo.api_key}` },
    });
    expect(await asBearer.json()).toEqual({
      organization_id: demo.organization_id,
      actor_user_id: demo.actor_user_id,
    });
    const asHeader = await fetch(`${url}/v2/me`, {
      headers: { 'X-API-Key': demo.second_actor.api_key },
    });
    expect(await asHeader.json()).toEqual({
      organization_id: demo.organization_id,
      actor_user_id: demo.second_actor.actor_user_id,
    });

    const stopped = await Promise.all([api.stop('SIGTERM'), dispatcher.stop('SIGTERM')]);
    expect(stopped).toEqual([
      { code: 0, signal: null },
      { code: 0, signal: null },
    ]);
  });
});
