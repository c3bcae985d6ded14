import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Delivery } from '@outbound/db';
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
  waitUntilFinished,
} from './test-support/fixtures.ts';

const MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));

/** The limited sender: 10 per second, so the 210 deliveries after its burst take 21 s. */
const LIMIT = { max: 10, window_ms: 1_000 };
const LIMITED_DELIVERIES = 220;
const FREE_DELIVERIES = 20;

describe('per-sender rate limit across two dispatcher processes', () => {
  let database: TestDatabase;
  let redis: TestRedis;
  let producer: Redis;
  let queues: Queues;
  const processes: ServiceProcess[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    redis = createTestRedis();
    producer = createWorkerConnection({ url: redis.url, connectionName: 'rate-test' });
    queues = createQueues({ connection: producer, prefix: redis.prefix });
  });
  afterAll(async () => {
    await Promise.all(processes.map((child) => child.stop('SIGKILL')));
    await closeQueues(queues);
    producer.disconnect();
    await redis.clear();
    await database.drop();
  });

  it('holds one sender to its rate within 5% while another sender runs at full speed', async () => {
    const env = testEnv(database, redis, {
      LOG_LEVEL: 'info',
      CREDENTIALS_ENCRYPTION_KEY: TEST_CREDENTIALS_KEY,
      DATABASE_POOL_MAX: '4',
    });
    for (let i = 0; i < 2; i += 1) processes.push(startServiceProcess(MAIN, env));
    await Promise.all(
      processes.map((child) => child.waitForLog((line) => line.msg === 'dispatcher ready')),
    );

    const db = database.db;
    const limited = await seedSender(db, { rateLimit: LIMIT });
    const free = await seedSender(db);
    const limitedSends = [];
    for (let i = 0; i < LIMITED_DELIVERIES / 55; i += 1) {
      const chats = Array.from({ length: 55 }, (_, j) => `limited-${i}-${j}@g.us`);
      limitedSends.push(await createQueuedSend(db, queues, limited, chats));
    }
    const freeChats = Array.from({ length: FREE_DELIVERIES }, (_, j) => `free-${j}@g.us`);
    const freeSend = await createQueuedSend(db, queues, free, freeChats);

    const sendIds = [...limitedSends.map((created) => created.send.id), freeSend.send.id];
    const finished = await waitUntilFinished(db, sendIds, 45_000);
    expect(finished.every((delivery) => delivery.status === 'sent')).toBe(true);
    const counts = await sandboxCounts(
      db,
      finished.map((delivery) => delivery.id),
    );
    expect(finished.every((delivery) => counts.get(delivery.id) === 1)).toBe(true);

    const times = (rows: Delivery[]) =>
      rows.map((delivery) => delivery.sent_at!.getTime()).sort((a, b) => a - b);
    const limitedTimes = times(finished.filter((d) => d.sender_id === limited.senderId));
    const freeTimes = times(finished.filter((d) => d.sender_id === free.senderId));
    expect(limitedTimes).toHaveLength(LIMITED_DELIVERIES);

    // An idle sender may spend a burst of `max` at once (GCRA); every later delivery waited
    // for a reserved slot, one per 1/rate: those measure the rate, as the least-squares slope
    // of deliveries over time (the first slots come due while the dispatchers are still
    // taking the initial jobs, so they run a little late; the slope is not thrown by that).
    const steady = limitedTimes.slice(LIMIT.max);
    const spanMs = steady[steady.length - 1]! - steady[0]!;
    const configured = (LIMIT.max * 1_000) / LIMIT.window_ms;
    const achieved = slopePerSecond(steady);
    expect(spanMs).toBeGreaterThanOrEqual(20_000);
    expect(Math.abs(achieved - configured) / configured).toBeLessThanOrEqual(0.05);
    // The burst never exceeds max: the (max + 1)th call waits for its slot.
    expect(limitedTimes[LIMIT.max]! - limitedTimes[0]!).toBeGreaterThanOrEqual(
      LIMIT.window_ms / LIMIT.max - 20,
    );

    // The other sender is not slowed by the saturated one: it is done within its first seconds.
    expect(freeTimes[freeTimes.length - 1]!).toBeLessThan(limitedTimes[40]!);

    // Both processes did part of the limited sender's work, so the limit held across them.
    const sentBy = processes.map(
      (child) =>
        child.lines.filter(
          (line) => line.msg === 'delivery sent' && line.send_id !== freeSend.send.id,
        ).length,
    );
    expect(sentBy.every((count) => count > 0)).toBe(true);
    expect(sentBy.reduce((a, b) => a + b, 0)).toBe(LIMITED_DELIVERIES);
  }, 90_000);
});

/** Events per second: the least-squares slope of the event count against its timestamps. */
function slopePerSecond(times: readonly number[]): number {
  const n = times.length;
  const meanT = times.reduce((sum, t) => sum + t, 0) / n;
  const meanI = (n - 1) / 2;
  let covariance = 0;
  let variance = 0;
  times.forEach((t, i) => {
    covariance += (t - meanT) * (i - meanI);
    variance += (t - meanT) ** 2;
  });
  return (covariance / variance) * 1_000;
}
