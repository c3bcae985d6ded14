import { once } from 'node:events';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestDatabase,
  createTestRedis,
  testEnv,
  type TestDatabase,
} from '@outbound/test/harness';
import { startRedisServer, type RedisServerProcess } from '@outbound/test/redis-server-process';
import { startServiceProcess, type ServiceProcess } from '@outbound/test/service-process';
import { CHAOS_CREDENTIALS_KEY, DISPATCHER_MAIN } from './waha-chaos-fixtures.ts';

/**
 * DESIGN §5: Redis must run with `maxmemory-policy noeviction`, or a full Redis would silently
 * drop queued jobs. The real dispatcher entry point, against a Redis of the test's own started
 * with `allkeys-lru`, must refuse to start, say why, and schedule nothing there.
 */
describe('a dispatcher started against a Redis that may evict keys', () => {
  let database: TestDatabase;
  let server: RedisServerProcess;
  let client: Redis;
  const processes: ServiceProcess[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    server = await startRedisServer(['--maxmemory-policy', 'allkeys-lru']);
    client = new Redis(server.url, { maxRetriesPerRequest: 1 });
  });
  afterAll(async () => {
    await Promise.all(processes.map((child) => child.stop('SIGKILL')));
    client.disconnect();
    await server.stop();
    await database.drop();
  });

  function startDispatcher(): ServiceProcess {
    const child = startServiceProcess(
      DISPATCHER_MAIN,
      testEnv(database, createTestRedis(), {
        LOG_LEVEL: 'info',
        REDIS_URL: server.url,
        CREDENTIALS_ENCRYPTION_KEY: CHAOS_CREDENTIALS_KEY,
      }),
    );
    processes.push(child);
    return child;
  }

  it('refuses to start, exits non-zero naming the policy, and schedules nothing', async () => {
    expect(await client.config('GET', 'maxmemory-policy')).toEqual([
      'maxmemory-policy',
      'allkeys-lru',
    ]);
    const dispatcher = startDispatcher();
    const [code] = (await Promise.race([
      once(dispatcher.child, 'exit'),
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error('the dispatcher did not exit within 20 s')), 20_000),
      ),
    ])) as [number | null];

    expect(code).toBe(1);
    const fatal = dispatcher.lines.find((line) => line.level === 60);
    expect(fatal?.msg).toBe(
      'dispatcher refused to start: Redis maxmemory-policy is "allkeys-lru"; Outbound needs ' +
        '"noeviction" so queued jobs are never evicted',
    );
    expect(dispatcher.lines.some((line) => line.msg === 'dispatcher ready')).toBe(false);
    // No job, no job scheduler, no rate-limit state: only BullMQ's queue metadata.
    expect((await client.keys('*')).filter((key) => !key.endsWith(':meta'))).toEqual([]);
  });

  it('starts against the same Redis once its policy is noeviction', async () => {
    await client.config('SET', 'maxmemory-policy', 'noeviction');
    const dispatcher = startDispatcher();
    await dispatcher.waitForLog((line) => line.msg === 'dispatcher ready');
    expect((await client.keys('*')).filter((key) => !key.endsWith(':meta'))).not.toEqual([]);
    expect(await dispatcher.stop('SIGTERM')).toEqual({ code: 0, signal: null });
  });
});
