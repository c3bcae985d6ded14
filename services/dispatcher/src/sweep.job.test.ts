import { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, loadConfig } from '@outbound/config';
import { claimDelivery, createDb, type Db } from '@outbound/db';
import {
  closeQueues,
  createQueues,
  createWorkerConnection,
  enqueueDeliveries,
  QUEUE_NAMES,
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
import {
  captureLogs,
  createQueuedSend,
  sandboxCounts,
  seedSender,
  testCipher,
  waitUntilFinished,
} from './test-support/fixtures.ts';

let database: TestDatabase;
let redis: TestRedis;
let db: Db;
let producer: Redis;
let queues: Queues;
let dispatcher: Dispatcher | undefined;

beforeAll(async () => {
  database = await createTestDatabase();
  db = database.db;
  redis = createTestRedis();
  producer = createWorkerConnection({ url: redis.url, connectionName: 'sweep-test' });
  queues = createQueues({ connection: producer, prefix: redis.prefix });
});

afterAll(async () => {
  await dispatcher?.close();
  await closeQueues(queues);
  producer.disconnect();
  await redis.clear();
  await database.drop();
});

const MAX_ATTEMPTS = 3;

/** The file's dispatcher; BullMQ fails a job at its first stall, so stalls are easy to make. */
async function started(): Promise<Dispatcher> {
  if (dispatcher !== undefined) return dispatcher;
  const config = loadConfig(
    testEnv(database, redis, {
      LOG_LEVEL: 'info',
      DISPATCHER_CONCURRENCY: '4',
      ADAPTER_TIMEOUT_MS: '1000',
      WORKER_LOCK_DURATION_MS: '5000',
      WORKER_STALLED_INTERVAL_MS: '300',
      WORKER_MAX_STALLED_COUNT: '0',
      SWEEPER_INTERVAL_MS: '3600000',
      SWEEPER_QUEUED_AFTER_MS: '200',
      DELIVERY_MAX_ATTEMPTS: String(MAX_ATTEMPTS),
    }),
  );
  dispatcher = createDispatcher({
    config,
    logger: createLogger(config, { name: 'dispatcher', destination: captureLogs().destination }),
    db: createDb({ connectionString: database.url, poolMax: 4 }),
    connection: createWorkerConnection({ url: redis.url }),
    cipher: testCipher,
  });
  await dispatcher.start();
  return dispatcher;
}

/** As if a minute had passed since the delivery was last touched and claimed. */
async function age(deliveryId: string): Promise<void> {
  const past = new Date(Date.now() - 60_000);
  await db
    .updateTable('deliveries')
    .set({ updated_at: past })
    .where('id', '=', deliveryId)
    .execute();
  await db
    .updateTable('deliveries')
    .set({ claimed_at: past })
    .where('id', '=', deliveryId)
    .where('claimed_at', 'is not', null)
    .execute();
}

async function eventTypes(deliveryId: string): Promise<string[]> {
  const events = await db
    .selectFrom('events')
    .select('type')
    .where('delivery_id', '=', deliveryId)
    .orderBy('id')
    .execute();
  return events.map((event) => event.type);
}

const refOf = (delivery: { id: string; organization_id: string; send_id: string }) => ({
  id: delivery.id,
  organization_id: delivery.organization_id,
  send_id: delivery.send_id,
});

describe('sweeper', () => {
  it('re-drives a delivery whose job BullMQ failed for stalling too often', async () => {
    const sender = await seedSender(db);
    const { send, deliveries } = await createQueuedSend(db, queues, sender, ['stalled@g.us']);
    const delivery = deliveries[0]!;
    // A dispatcher takes the job, claims the delivery, and dies before the provider answers.
    const doomed = new Worker(QUEUE_NAMES.deliveries, null, {
      connection: createWorkerConnection({ url: redis.url }),
      prefix: redis.prefix,
      lockDuration: 300,
    });
    const job = await doomed.getNextJob('doomed-token');
    expect(job?.id).toBe(delivery.id);
    await claimDelivery(db, refOf(delivery));
    await doomed.close(true);

    const { sweeper } = await started();
    await expect
      .poll(async () => (await queues.deliveries.getJob(delivery.id))?.failedReason, {
        timeout: 10_000,
      })
      .toMatch(/stalled more than allowable limit/);

    await age(delivery.id);
    expect(await sweeper.sweep()).toMatchObject({ reset: 1, failed: 0, enqueued: 1 });
    const [finished] = await waitUntilFinished(db, [send.id]);
    expect(finished).toMatchObject({ status: 'sent', attempts: 2, possible_duplicate: true });
    expect((await sandboxCounts(db, [delivery.id])).get(delivery.id)).toBe(1);
  });

  it('enqueues a queued delivery whose job never reached Redis', async () => {
    const { sweeper } = await started();
    const sender = await seedSender(db);
    const { send, deliveries } = await createQueuedSend(db, undefined, sender, ['lost@g.us']);
    expect(await queues.deliveries.getJobState(deliveries[0]!.id)).toBe('unknown');
    await age(deliveries[0]!.id);

    expect((await sweeper.sweep()).enqueued).toBeGreaterThanOrEqual(1);
    const [finished] = await waitUntilFinished(db, [send.id]);
    expect(finished).toMatchObject({ status: 'sent', attempts: 1, possible_duplicate: false });
  });

  it('leaves a delivery whose job is still waiting alone, and re-drives it once the job is lost', async () => {
    const { sweeper } = await started();
    const sender = await seedSender(db);
    const { send, deliveries } = await createQueuedSend(db, undefined, sender, ['later@g.us']);
    const id = deliveries[0]!.id;
    await enqueueDeliveries(queues, [
      { delivery_id: id, organization_id: sender.organizationId, delay: 3_600_000 },
    ]);
    await age(id);

    await sweeper.sweep();
    expect(await queues.deliveries.getJobState(id)).toBe('delayed');

    await queues.deliveries.remove(id);
    await sweeper.sweep();
    const [finished] = await waitUntilFinished(db, [send.id]);
    expect(finished).toMatchObject({ status: 'sent', attempts: 1 });
  });

  it('re-drives a delivery stuck in sending, flagged, every time it is found so while it has attempts left', async () => {
    const { sweeper } = await started();
    const sender = await seedSender(db);
    // Committed but never enqueued, then claimed by a "dispatcher" that died mid-call.
    const { send, deliveries } = await createQueuedSend(db, undefined, sender, ['stuck@g.us']);
    const delivery = deliveries[0]!;
    await claimDelivery(db, refOf(delivery));
    await age(delivery.id);

    expect(await sweeper.sweep()).toMatchObject({ reset: 1, failed: 0 });
    const [sent] = await waitUntilFinished(db, [send.id]);
    expect(sent).toMatchObject({ status: 'sent', attempts: 2, possible_duplicate: true });
    expect(await eventTypes(delivery.id)).toEqual([
      'delivery.sending',
      'delivery.reset',
      'delivery.sending',
      'delivery.sent',
    ]);

    // Already reset once (flagged, one attempt spent), then stuck again on its second attempt.
    const again = await createQueuedSend(db, undefined, sender, ['stuck-twice@g.us']);
    const twice = again.deliveries[0]!;
    await db
      .updateTable('deliveries')
      .set({ attempts: 1, possible_duplicate: true })
      .where('id', '=', twice.id)
      .execute();
    await claimDelivery(db, refOf(twice));
    await age(twice.id);
    expect(await sweeper.sweep()).toMatchObject({ reset: 1, failed: 0 });
    const [resent] = await waitUntilFinished(db, [again.send.id]);
    expect(resent).toMatchObject({
      status: 'sent',
      attempts: 3,
      possible_duplicate: true,
      error_code: null,
    });
    expect((await sandboxCounts(db, [twice.id])).get(twice.id)).toBe(1);
  });

  it('fails a delivery stuck in sending on its last attempt with stuck_in_sending, and enqueues nothing', async () => {
    const { sweeper } = await started();
    const sender = await seedSender(db);
    const { send, deliveries } = await createQueuedSend(db, undefined, sender, ['stuck-last@g.us']);
    const delivery = deliveries[0]!;
    await db
      .updateTable('deliveries')
      .set({ attempts: MAX_ATTEMPTS - 1, possible_duplicate: true })
      .where('id', '=', delivery.id)
      .execute();
    await claimDelivery(db, refOf(delivery));
    await age(delivery.id);

    expect(await sweeper.sweep()).toMatchObject({ reset: 0, failed: 1 });
    const [failed] = await waitUntilFinished(db, [send.id]);
    expect(failed).toMatchObject({
      status: 'failed',
      attempts: MAX_ATTEMPTS,
      error_code: 'stuck_in_sending',
    });
    expect(failed!.error_message).toMatch(/attempts are exhausted/);
    expect(await queues.deliveries.getJobState(delivery.id)).toBe('unknown');
    expect(await eventTypes(delivery.id)).toEqual(['delivery.sending', 'delivery.failed']);
  });

  it('deletes expired idempotency records and keeps live ones', async () => {
    const { sweeper } = await started();
    const { organizationId } = await seedSender(db);
    const record = (key: string, expiresAt: Date) => ({
      organization_id: organizationId,
      idempotency_key: key,
      scope: 'test',
      fingerprint: 'f',
      response_status: 202,
      response_body: '{}',
      expires_at: expiresAt,
    });
    await db
      .insertInto('idempotency_records')
      .values([
        record('expired', new Date(Date.now() - 1_000)),
        record('live', new Date(Date.now() + 3_600_000)),
      ])
      .execute();

    expect((await sweeper.sweep()).idempotencyPurged).toBeGreaterThanOrEqual(1);
    const left = await db
      .selectFrom('idempotency_records')
      .select('idempotency_key')
      .where('organization_id', '=', organizationId)
      .execute();
    expect(left.map((row) => row.idempotency_key)).toEqual(['live']);
  });
});
