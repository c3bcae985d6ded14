import { randomUUID } from 'node:crypto';
import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, loadConfig } from '@outbound/config';
import { createDb } from '@outbound/db';
import {
  closeQueues,
  createQueues,
  createWorkerConnection,
  enqueue,
  POLL_DUE_SCHEDULER_ID,
  QUEUE_NAMES,
  RedisPolicyError,
  SWEEPER_SCHEDULER_ID,
  WEBHOOK_RELAY_SCHEDULER_ID,
  WEBHOOK_SWEEPER_SCHEDULER_ID,
  type Queues,
} from '@outbound/queue';
import {
  createTestDatabase,
  createTestRedis,
  testEnv,
  type TestDatabase,
  type TestRedis,
} from '@outbound/test/harness';
import { createDispatcher, type Dispatcher } from './dispatcher.ts';
import type { JobHandlers } from './job-handlers.ts';
import { captureLogs, testCipher, waitFor, type LogLine } from './test-support/fixtures.ts';

let database: TestDatabase;
let redis: TestRedis;
let producer: Redis;
let queues: Queues;
const started: Dispatcher[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  redis = createTestRedis();
  producer = createWorkerConnection({ url: redis.url, connectionName: 'dispatcher-test' });
  queues = createQueues({ connection: producer, prefix: redis.prefix });
});

afterAll(async () => {
  await Promise.all(started.map((dispatcher) => dispatcher.close()));
  await closeQueues(queues);
  producer.disconnect();
  await redis.clear();
  await database.drop();
});

function buildDispatcher(options: { handlers?: Partial<JobHandlers>; connection?: Redis } = {}): {
  dispatcher: Dispatcher;
  logs: LogLine[];
  connection: Redis;
} {
  const config = loadConfig(
    testEnv(database, redis, {
      LOG_LEVEL: 'info',
      DISPATCHER_CONCURRENCY: '4',
      WORKER_LOCK_DURATION_MS: '1000',
      WORKER_STALLED_INTERVAL_MS: '500',
      SWEEPER_INTERVAL_MS: '3600000',
      POLL_INTERVAL_MS: '3600000',
      RECONCILE_INTERVAL_MS: '3600000',
      WEBHOOK_RELAY_INTERVAL_MS: '3600000',
    }),
  );
  const { destination, lines: logs } = captureLogs();
  const connection = options.connection ?? createWorkerConnection({ url: redis.url });
  const dispatcher = createDispatcher({
    config,
    logger: createLogger(config, { name: 'dispatcher', destination }),
    db: createDb({ connectionString: database.url, poolMax: 2 }),
    connection,
    cipher: testCipher,
    ...(options.handlers === undefined ? {} : { handlers: options.handlers }),
  });
  started.push(dispatcher);
  return { dispatcher, logs, connection };
}

/**
 * Resolves with the job's return value once it completes, rejects with its failed reason.
 * Polls the job's state: a QueueEvents subscription can miss a job that finishes while it
 * starts listening.
 */
async function finished(queue: keyof Queues, job: Job): Promise<unknown> {
  const finishedJob = await waitFor(async () => {
    const state = await queues[queue].getJobState(job.id!);
    return state === 'completed' || state === 'failed' ? queues[queue].getJob(job.id!) : undefined;
  });
  if (finishedJob === undefined) throw new Error(`job ${job.id} vanished`);
  if (finishedJob.failedReason) throw new Error(finishedJob.failedReason);
  return finishedJob.returnvalue;
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

describe('dispatcher', () => {
  it('starts, logs readiness, and completes a job for an unknown delivery quietly', async () => {
    const { dispatcher, logs } = buildDispatcher();
    await dispatcher.start();
    expect(logs.find((line) => line.msg === 'dispatcher ready')).toMatchObject({
      queues: ['deliveries', 'scheduler', 'webhooks'],
      concurrency: 4,
      prefix: redis.prefix,
    });

    const payload = { delivery_id: randomUUID(), organization_id: randomUUID() };
    await enqueue(queues, 'deliver', payload, { jobId: payload.delivery_id });
    const job = await queues.deliveries.getJob(payload.delivery_id);
    await finished(QUEUE_NAMES.deliveries, job!);

    expect(await queues.deliveries.getJobState(payload.delivery_id)).toBe('completed');
    expect(logs.find((line) => line.msg === 'delivery not found; nothing to do')).toMatchObject({
      level: 40,
      delivery_id: payload.delivery_id,
    });
    await dispatcher.close();
  });

  it('shares one of each fixed scheduler however many dispatchers start', async () => {
    const first = buildDispatcher().dispatcher;
    const second = buildDispatcher().dispatcher;
    try {
      await Promise.all([first.start(), second.start()]);
      const schedulers = await queues.scheduler.getJobSchedulers();
      expect(
        schedulers
          .map(({ key, name, every }) => ({ key, name, every }))
          .sort((a, b) => a.key.localeCompare(b.key)),
      ).toEqual([
        { key: POLL_DUE_SCHEDULER_ID, name: 'poll-due', every: 3_600_000 },
        { key: SWEEPER_SCHEDULER_ID, name: 'sweep', every: 3_600_000 },
        { key: WEBHOOK_RELAY_SCHEDULER_ID, name: 'relay-webhooks', every: 3_600_000 },
        { key: WEBHOOK_SWEEPER_SCHEDULER_ID, name: 'sweep-webhooks', every: 3_600_000 },
      ]);
    } finally {
      await Promise.all([first.close(), second.close()]);
    }
  });

  it('fails a malformed job at once, without retries, and keeps working', async () => {
    const { dispatcher, logs } = buildDispatcher();
    await dispatcher.start();

    const bad = await queues.deliveries.add('deliver', { delivery_id: 'not-a-uuid' });
    await expect(finished(QUEUE_NAMES.deliveries, bad)).rejects.toThrow(
      /malformed deliver payload/,
    );
    const failed = await queues.deliveries.getJob(bad.id!);
    expect(await failed!.getState()).toBe('failed');
    expect(failed!.attemptsMade).toBe(1);
    expect(logs.find((line) => line.msg === 'job failed')).toMatchObject({ job_id: bad.id });

    const unknown = await queues.deliveries.add('mystery', {});
    await expect(finished(QUEUE_NAMES.deliveries, unknown)).rejects.toThrow(
      /unknown job "mystery"/,
    );

    const payload = { delivery_id: randomUUID(), organization_id: randomUUID() };
    await enqueue(queues, 'deliver', payload, { jobId: payload.delivery_id });
    await finished(QUEUE_NAMES.deliveries, (await queues.deliveries.getJob(payload.delivery_id))!);
    expect(await queues.deliveries.getJobState(payload.delivery_id)).toBe('completed');
    await dispatcher.close();
  });

  it('finishes the job in progress before close resolves, then closes its connections', async () => {
    const release = deferred();
    const order: string[] = [];
    const { dispatcher, connection } = buildDispatcher({
      handlers: {
        // The shared scheduler may add poll-due jobs of its own; each one is held the same way.
        pollDue: async () => {
          await release.promise;
          order.push('job finished');
        },
      },
    });
    await dispatcher.start();
    const job = await queues.scheduler.add('poll-due', {});
    await waitFor(async () => (await job.getState()) === 'active' || undefined);

    const closing = dispatcher.close().then(() => order.push('closed'));
    // Long enough for a close that does not wait to have resolved (it takes a few round trips).
    const early = await Promise.race([
      closing.then(() => 'closed early'),
      new Promise((resolve) => setTimeout(() => resolve('still waiting'), 300)),
    ]);
    expect(early).toBe('still waiting');
    release.resolve();
    await closing;

    expect(order.at(-1)).toBe('closed');
    expect(order).toContain('job finished');
    expect(await queues.scheduler.getJobState(job.id!)).toBe('completed');
    expect(connection.status).toBe('end');
  });

  it('refuses to start when Redis may evict keys, and starts no worker', async () => {
    // Changing maxmemory-policy is server-wide and would break other files running at the same
    // time, so this connection answers CONFIG GET as an evicting server would; all else is real.
    const real = createWorkerConnection({ url: redis.url });
    const evicting = new Proxy(real, {
      get(target, property, receiver) {
        if (property === 'config') {
          return () => Promise.resolve(['maxmemory-policy', 'allkeys-lru']);
        }
        return Reflect.get(target, property, receiver) as unknown;
      },
    });
    const { dispatcher, logs } = buildDispatcher({ connection: evicting });

    const error = await dispatcher.start().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RedisPolicyError);
    expect((error as Error).message).toMatch(/maxmemory-policy is "allkeys-lru".*noeviction/);
    expect(logs.find((line) => line.msg === 'dispatcher ready')).toBeUndefined();
    expect(await queues.deliveries.getWorkers()).toEqual([]);
    await dispatcher.close();
    expect(real.status).toBe('end');
  });
});
