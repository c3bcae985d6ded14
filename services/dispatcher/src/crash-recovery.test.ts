import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeQueues, createQueues, createWorkerConnection, type Queues } from '@outbound/queue';
import {
  createTestDatabase,
  createTestRedis,
  testEnv,
  type TestDatabase,
  type TestRedis,
} from '@outbound/test/harness';
import { startServiceProcess, type ServiceProcess } from '@outbound/test/service-process';
import {
  createQueuedSend,
  sandboxCounts,
  seedSender,
  TEST_CREDENTIALS_KEY,
  waitFor,
  waitUntilFinished,
} from './test-support/fixtures.ts';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));
const DELIVERIES = 300;

describe('a dispatcher killed mid-batch', () => {
  let database: TestDatabase;
  let redis: TestRedis;
  let producer: Redis;
  let queues: Queues;
  const processes: ServiceProcess[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    redis = createTestRedis();
    producer = createWorkerConnection({ url: redis.url, connectionName: 'crash-test' });
    queues = createQueues({ connection: producer, prefix: redis.prefix });
  });
  afterAll(async () => {
    await Promise.all(processes.map((child) => child.stop('SIGKILL')));
    await closeQueues(queues);
    producer.disconnect();
    await redis.clear();
    await database.drop();
  });

  function startDispatcher(): ServiceProcess {
    const child = startServiceProcess(
      MAIN,
      testEnv(database, redis, {
        LOG_LEVEL: 'info',
        CREDENTIALS_ENCRYPTION_KEY: TEST_CREDENTIALS_KEY,
        DATABASE_POOL_MAX: '4',
        WORKER_LOCK_DURATION_MS: '1000',
        WORKER_STALLED_INTERVAL_MS: '500',
        ADAPTER_TIMEOUT_MS: '1000',
        SWEEPER_INTERVAL_MS: '1000',
        SWEEPER_QUEUED_AFTER_MS: '2000',
      }),
    );
    processes.push(child);
    return child;
  }

  it('loses no delivery: all end sent after a restart, duplicates only where flagged', async () => {
    const db = database.db;
    // 100 a second, so the batch is still under way when the dispatcher dies.
    const sender = await seedSender(db, { rateLimit: { max: 100, window_ms: 1_000 } });
    const first = startDispatcher();
    await first.waitForLog((line) => line.msg === 'dispatcher ready');

    const sends = [];
    for (let i = 0; i < DELIVERIES / 100; i += 1) {
      const chats = Array.from({ length: 100 }, (_, j) => `crash-${i}-${j}@g.us`);
      sends.push(await createQueuedSend(db, queues, sender, chats));
    }
    const sendIds = sends.map((created) => created.send.id);
    const sentCount = async () =>
      (
        await db
          .selectFrom('deliveries')
          .select((eb) => eb.fn.countAll<number>().as('count'))
          .where('send_id', 'in', sendIds)
          .where('status', '=', 'sent')
          .executeTakeFirstOrThrow()
      ).count;
    await waitFor(async () => (Number(await sentCount()) >= 60 ? true : undefined), 15_000, 5);
    expect(await first.stop('SIGKILL')).toEqual({ code: null, signal: 'SIGKILL' });
    const sentAtKill = Number(await sentCount());
    expect(sentAtKill).toBeLessThan(DELIVERIES);

    const second = startDispatcher();
    await second.waitForLog((line) => line.msg === 'dispatcher ready');
    const finished = await waitUntilFinished(db, sendIds, 30_000);

    expect(finished).toHaveLength(DELIVERIES);
    expect(finished.filter((delivery) => delivery.status !== 'sent')).toEqual([]);
    expect(finished.every((delivery) => delivery.provider_message_id !== null)).toBe(true);
    const counts = await sandboxCounts(
      db,
      finished.map((delivery) => delivery.id),
    );
    expect(finished.filter((delivery) => (counts.get(delivery.id) ?? 0) === 0)).toEqual([]);
    const duplicated = finished.filter((delivery) => counts.get(delivery.id)! > 1);
    expect(duplicated.filter((delivery) => !delivery.possible_duplicate)).toEqual([]);
    expect(Math.max(...counts.values())).toBeLessThanOrEqual(2);
    // The second process finished the batch: it sent what the first had not.
    expect(second.lines.filter((line) => line.msg === 'delivery sent').length).toBeGreaterThan(0);
  }, 60_000);
});
