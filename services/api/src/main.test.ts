import { fileURLToPath } from 'node:url';
import {
  createTestDatabase,
  createTestRedis,
  testEnv,
  type TestDatabase,
} from '@outbound/test/harness';
import { startServiceProcess, type ServiceProcess } from '@outbound/test/service-process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));
const redis = createTestRedis();
let database: TestDatabase;
let api: ServiceProcess | undefined;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await api?.stop('SIGKILL');
  await database.drop();
  await redis.clear();
});

describe('node src/main.ts', () => {
  it('serves, then shuts down cleanly with exit code 0 on SIGTERM', async () => {
    api = startServiceProcess(
      MAIN,
      testEnv(database, redis, { HOST: '127.0.0.1', LOG_LEVEL: 'info', MIGRATE_ON_START: 'true' }),
    );
    const listening = await api.waitForLog((line) => typeof line.url === 'string');
    const response = await fetch(`${String(listening.url)}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });

    expect(await api.stop('SIGTERM')).toEqual({ code: 0, signal: null });
    expect(
      api.lines.some((line) => line.msg === 'shutting down' && line.signal === 'SIGTERM'),
    ).toBe(true);
  });
});
