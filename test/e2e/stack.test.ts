import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  createTestRedis,
  testEnv,
  type TestDatabase,
  type TestRedis,
} from '../support/harness.ts';
import { startServiceProcess, type ServiceProcess } from '../support/service-process.ts';

const run = promisify(execFile);
const entry = (path: string) => fileURLToPath(new URL(`../../${path}`, import.meta.url));

/**
 * The whole stack as the README runs it: API and dispatcher processes on one database and
 * Redis, and the CLI's seed-demo key accepted by the API.
 */
describe('API + dispatcher + CLI', () => {
  let database: TestDatabase;
  let redis: TestRedis;
  const processes: ServiceProcess[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    redis = createTestRedis();
  });
  afterAll(async () => {
    await Promise.all(processes.map((service) => service.stop('SIGKILL')));
    await redis.clear();
    await database.drop();
  });

  it('serves health, accepts the seeded key, and stops cleanly', async () => {
    const env = testEnv(database, redis, { HOST: '127.0.0.1', LOG_LEVEL: 'info' });
    const api = startServiceProcess(entry('services/api/src/main.ts'), env);
    const dispatcher = startServiceProcess(entry('services/dispatcher/src/main.ts'), env);
    processes.push(api, dispatcher);
    const listening = await api.waitForLog((line) => typeof line.url === 'string');
    await dispatcher.waitForLog((line) => line.msg === 'dispatcher ready');
    const url = String(listening.url);

    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(200);

    const { stdout } = await run(
      process.execPath,
      [entry('services/cli/src/main.ts'), 'seed-demo', '--json'],
      { env: { PATH: process.env.PATH ?? '', ...env, LOG_LEVEL: 'silent' } },
    );
    const demo = JSON.parse(stdout) as {
      organization_id: string;
      actor_user_id: string;
      api_key: string;
      second_actor: { api_key: string; actor_user_id: string };
    };

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
