import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  createTestRedis,
  testEnv,
  type TestDatabase,
  type TestRedis,
} from '@outbound/test/harness';
import { startServiceProcess, type ServiceProcess } from '@outbound/test/service-process';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));

describe('dispatcher process', () => {
  let database: TestDatabase;
  let redis: TestRedis;
  let dispatcher: ServiceProcess | undefined;

  beforeAll(async () => {
    database = await createTestDatabase();
    redis = createTestRedis();
  });
  afterAll(async () => {
    await dispatcher?.stop('SIGKILL');
    await redis.clear();
    await database.drop();
  });

  it('migrates, logs readiness, and exits 0 on SIGTERM', async () => {
    dispatcher = startServiceProcess(
      MAIN,
      testEnv(database, redis, { LOG_LEVEL: 'info', MIGRATE_ON_START: 'true' }),
    );
    const ready = await dispatcher.waitForLog((line) => line.msg === 'dispatcher ready');
    expect(ready).toMatchObject({
      name: 'dispatcher',
      queues: ['deliveries', 'scheduler', 'webhooks'],
    });

    expect(await dispatcher.stop('SIGTERM', 10_000)).toEqual({ code: 0, signal: null });
    expect(dispatcher.stderr()).toBe('');
    expect(dispatcher.lines.map((line) => line.msg)).toEqual(
      expect.arrayContaining([
        'migrations applied',
        'shutting down: finishing jobs in progress',
        'dispatcher stopped',
      ]),
    );
  });
});
