import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AnyChannelAdapter,
  type ChannelAdapter,
  RetryableDeliveryError,
} from '@outbound/channels';
import { createLogger, loadConfig } from '@outbound/config';
import { createDb, type Db } from '@outbound/db';
import {
  closeQueues,
  createQueues,
  createWorkerConnection,
  enqueueDeliveries,
  type Queues,
} from '@outbound/queue';
import {
  createTestDatabase,
  createTestRedis,
  testEnv,
  type TestDatabase,
  type TestRedis,
} from '@outbound/test/harness';
import { createAdapterFactory } from './adapter-factory.ts';
import { createDispatcher, type Dispatcher } from './dispatcher.ts';
import {
  captureLogs,
  createQueuedSend,
  sandboxCounts,
  seedSender,
  testCipher,
  waitUntilFinished,
  type LogLine,
} from './test-support/fixtures.ts';

const BACKOFF_MS = 100;
const MAX_ATTEMPTS = 4;
const ADAPTER_TIMEOUT_MS = 500;

let database: TestDatabase;
let redis: TestRedis;
let db: Db;
let producer: Redis;
let queues: Queues;
let dispatcher: Dispatcher;
let logs: LogLine[];
let rawLogs: string[];
/** Fake providers by sender id; other senders get the real registry (the sandbox). */
const fakes = new Map<string, AnyChannelAdapter>();

beforeAll(async () => {
  database = await createTestDatabase();
  db = database.db;
  redis = createTestRedis();
  producer = createWorkerConnection({ url: redis.url, connectionName: 'deliver-test' });
  queues = createQueues({ connection: producer, prefix: redis.prefix });
  const config = loadConfig(
    testEnv(database, redis, {
      LOG_LEVEL: 'debug',
      // One slot: a rate-limited job must not hold it while it waits.
      DISPATCHER_CONCURRENCY: '1',
      DELIVERY_MAX_ATTEMPTS: String(MAX_ATTEMPTS),
      DELIVERY_BACKOFF_MS: String(BACKOFF_MS),
      ADAPTER_TIMEOUT_MS: String(ADAPTER_TIMEOUT_MS),
      WORKER_LOCK_DURATION_MS: '2000',
      WORKER_STALLED_INTERVAL_MS: '1000',
      SWEEPER_INTERVAL_MS: '3600000',
    }),
  );
  const captured = captureLogs();
  logs = captured.lines;
  rawLogs = captured.raw;
  const dispatcherDb = createDb({ connectionString: database.url, poolMax: 4 });
  const registry = createAdapterFactory({
    db: dispatcherDb,
    cipher: testCipher,
    timeoutMs: ADAPTER_TIMEOUT_MS,
  });
  dispatcher = createDispatcher({
    config,
    logger: createLogger(config, { name: 'dispatcher', destination: captured.destination }),
    db: dispatcherDb,
    connection: createWorkerConnection({ url: redis.url }),
    cipher: testCipher,
    adapters: (sender) => {
      const fake = fakes.get(sender.id);
      return fake === undefined ? registry(sender) : Promise.resolve(fake);
    },
  });
  await dispatcher.start();
});

afterAll(async () => {
  await dispatcher.close();
  await closeQueues(queues);
  producer.disconnect();
  await redis.clear();
  await database.drop();
});

/** A provider that answers each attempt as `script` says, remembering when it was called. */
function scriptedProvider(script: (attempt: number) => Error | 'hang' | undefined) {
  const calls: { attempt: number; at: number }[] = [];
  const adapter: ChannelAdapter<'whatsapp'> = {
    channel: 'whatsapp',
    provider: 'waha',
    send: async (request) => {
      calls.push({ attempt: request.attempt, at: Date.now() });
      const answer = script(request.attempt);
      // A provider that never answers and ignores the abort signal.
      if (answer === 'hang') return new Promise(() => {});
      if (answer !== undefined) throw answer;
      return { providerMessageId: `fake-${request.deliveryId}-${request.attempt}` };
    },
  };
  return { adapter, calls };
}

async function fakeSender(script: Parameters<typeof scriptedProvider>[0]) {
  const sender = await seedSender(db);
  const provider = scriptedProvider(script);
  fakes.set(sender.senderId, provider.adapter);
  return { sender, calls: provider.calls };
}

function gaps(calls: readonly { at: number }[]): number[] {
  return calls.slice(1).map((call, i) => call.at - calls[i]!.at);
}

async function events(deliveryId: string) {
  return db
    .selectFrom('events')
    .select(['type', 'payload'])
    .where('delivery_id', '=', deliveryId)
    .orderBy('id')
    .execute();
}

describe('deliver job', () => {
  it('delivers a send to every recipient through the sandbox, once each', async () => {
    const sender = await seedSender(db);
    const recipients = Array.from({ length: 12 }, (_, i) => `1203630${i}@g.us`);
    const text = 'Quarterly numbers are in: do not log me';
    const { send, deliveries } = await createQueuedSend(db, queues, sender, recipients, text);

    const finished = await waitUntilFinished(db, [send.id]);
    expect(finished.map((d) => d.status)).toEqual(recipients.map(() => 'sent'));
    expect(finished.map((d) => d.recipient)).toEqual(recipients);
    expect(finished.every((d) => d.attempts === 1 && d.sent_at !== null)).toBe(true);

    const messages = await db
      .selectFrom('sandbox_messages')
      .selectAll()
      .where(
        'delivery_id',
        'in',
        deliveries.map((d) => d.id),
      )
      .execute();
    expect(messages).toHaveLength(recipients.length);
    for (const delivery of finished) {
      const message = messages.find((m) => m.delivery_id === delivery.id);
      expect(message).toMatchObject({
        id: delivery.provider_message_id,
        recipient: delivery.recipient,
        content: { chatId: delivery.recipient, text },
      });
    }
    const row = await db
      .selectFrom('sends')
      .select('status')
      .where('id', '=', send.id)
      .executeTakeFirstOrThrow();
    expect(row.status).toBe('sent');
    expect((await events(deliveries[0]!.id)).map((e) => e.type)).toEqual([
      'delivery.sending',
      'delivery.sent',
    ]);

    const ids = { delivery_id: deliveries[0]!.id, send_id: send.id };
    const transitions = logs.filter((line) => line.delivery_id === ids.delivery_id);
    expect(transitions.map((line) => line.msg)).toEqual(['delivery sending', 'delivery sent']);
    for (const line of transitions) {
      expect(line).toMatchObject({ ...ids, organization_id: sender.organizationId });
    }
    expect(rawLogs.filter((line) => line.includes('do not log me'))).toEqual([]);
  });

  it('fails a recipient the provider rejects at once, after one attempt', async () => {
    const sender = await seedSender(db);
    const { send, deliveries } = await createQueuedSend(db, queues, sender, [
      'ok@g.us',
      'fail-me@g.us',
    ]);
    const [ok, rejected] = await waitUntilFinished(db, [send.id]);
    expect(ok).toMatchObject({ status: 'sent' });
    expect(rejected).toMatchObject({
      status: 'failed',
      attempts: 1,
      error_code: 'invalid_recipient',
    });
    const job = (await queues.deliveries.getJob(deliveries[1]!.id))!;
    expect(await job.getState()).toBe('failed');
    expect(job.attemptsMade).toBe(1);
    expect((await sandboxCounts(db, [rejected!.id])).size).toBe(0);
    const row = await db
      .selectFrom('sends')
      .select('status')
      .where('id', '=', send.id)
      .executeTakeFirstOrThrow();
    expect(row.status).toBe('partially_failed');
  });

  it('retries a flaky recipient and sends it on the second attempt', async () => {
    const sender = await seedSender(db);
    const { send } = await createQueuedSend(db, queues, sender, ['flaky@g.us']);
    const [delivery] = await waitUntilFinished(db, [send.id]);
    expect(delivery).toMatchObject({ status: 'sent', attempts: 2, error_code: null });
    expect((await events(delivery!.id)).map((e) => e.type)).toEqual([
      'delivery.sending',
      'delivery.retrying',
      'delivery.sending',
      'delivery.sent',
    ]);
    expect((await sandboxCounts(db, [delivery!.id])).get(delivery!.id)).toBe(1);
  });

  it('retries a provider failing with 5xx with exponential backoff, then sends', async () => {
    const { sender, calls } = await fakeSender((attempt) =>
      attempt <= 3 ? new RetryableDeliveryError('provider_unavailable', 'HTTP 503') : undefined,
    );
    const { send } = await createQueuedSend(db, queues, sender, ['a@g.us']);
    const [delivery] = await waitUntilFinished(db, [send.id]);
    expect(delivery).toMatchObject({
      status: 'sent',
      attempts: 4,
      provider_message_id: `fake-${delivery!.id}-4`,
    });
    expect(calls.map((call) => call.attempt)).toEqual([1, 2, 3, 4]);
    // Equal jitter waits at least half of base·2^(n−1) before retry n.
    const waited = gaps(calls);
    [BACKOFF_MS / 2, BACKOFF_MS, BACKOFF_MS * 2].forEach((least, i) =>
      expect(waited[i]).toBeGreaterThanOrEqual(least),
    );
  });

  it('waits as long as the provider asks with Retry-After', async () => {
    const retryAfterMs = 1_500;
    const { sender, calls } = await fakeSender((attempt) =>
      attempt === 1
        ? new RetryableDeliveryError('rate_limited', 'HTTP 429', { retryAfterMs })
        : undefined,
    );
    const { send, deliveries } = await createQueuedSend(db, queues, sender, ['b@g.us']);
    const [delivery] = await waitUntilFinished(db, [send.id]);
    expect(delivery).toMatchObject({ status: 'sent', attempts: 2 });
    // The backoff alone would have waited at most BACKOFF_MS.
    expect(gaps(calls)[0]).toBeGreaterThanOrEqual(retryAfterMs);
    const job = (await queues.deliveries.getJob(deliveries[0]!.id))!;
    expect(job.attemptsMade).toBe(2);
  });

  it('gives up after the last attempt with retries_exhausted, keeping the last error', async () => {
    const { sender, calls } = await fakeSender(
      (attempt) =>
        new RetryableDeliveryError('temporary_failure', `upstream 502 on try ${attempt}`),
    );
    const { send, deliveries } = await createQueuedSend(db, queues, sender, ['c@g.us']);
    const [delivery] = await waitUntilFinished(db, [send.id]);
    expect(delivery).toMatchObject({
      status: 'failed',
      attempts: MAX_ATTEMPTS,
      error_code: 'retries_exhausted',
    });
    expect(delivery!.error_message).toContain(
      `temporary_failure: upstream 502 on try ${MAX_ATTEMPTS}`,
    );
    expect(calls).toHaveLength(MAX_ATTEMPTS);
    const job = (await queues.deliveries.getJob(deliveries[0]!.id))!;
    expect(await job.getState()).toBe('failed');
    expect(job.attemptsMade).toBe(MAX_ATTEMPTS);
  });

  it('gives up on a provider that does not answer in time, and retries', async () => {
    const { sender, calls } = await fakeSender((attempt) => (attempt === 1 ? 'hang' : undefined));
    const { send } = await createQueuedSend(db, queues, sender, ['d@g.us']);
    const [delivery] = await waitUntilFinished(db, [send.id]);
    expect(delivery).toMatchObject({ status: 'sent', attempts: 2 });
    expect(gaps(calls)[0]).toBeGreaterThanOrEqual(ADAPTER_TIMEOUT_MS);
    const retrying = (await events(delivery!.id)).find((e) => e.type === 'delivery.retrying');
    expect(retrying?.payload).toMatchObject({ attempt: 1, error_code: 'timeout' });
  });

  it.each([
    { status: 'STOPPED', role: 'sending', code: 'sender_not_working' },
    { status: 'FAILED', role: 'sending', code: 'sender_not_working' },
    { status: 'WORKING', role: 'receiving', code: 'sender_cannot_send' },
  ] as const)('fails at once, without a call, for a $role sender $status', async (sender) => {
    const seeded = await seedSender(db, { status: sender.status, role: sender.role });
    const provider = scriptedProvider(() => undefined);
    fakes.set(seeded.senderId, provider.adapter);
    const { send, deliveries } = await createQueuedSend(db, queues, seeded, ['e@g.us']);
    const [delivery] = await waitUntilFinished(db, [send.id]);
    expect(delivery).toMatchObject({ status: 'failed', error_code: sender.code });
    expect(provider.calls).toEqual([]);
    const job = (await queues.deliveries.getJob(deliveries[0]!.id))!;
    expect(await job.getState()).toBe('failed');
    expect(job.attemptsMade).toBe(1);
  });

  it('does nothing when the job of a delivery already sent runs again', async () => {
    const sender = await seedSender(db);
    const { send, deliveries } = await createQueuedSend(db, queues, sender, ['f@g.us']);
    const [sent] = await waitUntilFinished(db, [send.id]);
    const id = deliveries[0]!.id;
    expect(await queues.deliveries.getJobState(id)).toBe('completed');

    await queues.deliveries.remove(id);
    await enqueueDeliveries(queues, [{ delivery_id: id, organization_id: sender.organizationId }]);
    await expect
      .poll(() => queues.deliveries.getJobState(id), { timeout: 5_000 })
      .toBe('completed');
    const after = await db
      .selectFrom('deliveries')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    expect(after).toEqual(sent);
    expect((await sandboxCounts(db, [id])).get(id)).toBe(1);
  });

  it('moves a rate-limited delivery once to its reserved slot, freeing the worker meanwhile', async () => {
    // One per second with a burst of one: slots at t, t+1 s, t+2 s.
    const limited = await seedSender(db, { rateLimit: { max: 1, window_ms: 1_000 } });
    const other = await seedSender(db);
    const { send, deliveries } = await createQueuedSend(db, queues, limited, [
      'r0@g.us',
      'r1@g.us',
      'r2@g.us',
    ]);
    const { send: otherSend } = await createQueuedSend(db, queues, other, ['s0@g.us']);

    const finished = await waitUntilFinished(db, [send.id, otherSend.id]);
    const sentAt = (sendId: string) =>
      finished
        .filter((d) => d.send_id === sendId)
        .map((d) => d.sent_at!.getTime())
        .sort((a, b) => a - b);
    const slots = sentAt(send.id);
    expect(finished.every((d) => d.status === 'sent')).toBe(true);
    // When each went is the limiter's to keep (rate-limit-accuracy.test.ts measures it); here,
    // that two of them each waited, once, for a later slot of their own.
    const waits = logs.filter(
      (line) => line.send_id === send.id && line.msg === 'delivery waits for its rate-limit slot',
    );
    expect(new Set(waits.map((line) => line.delivery_id)).size).toBe(2);
    expect(waits.every((line) => Number(line.delay_ms) > 0)).toBe(true);
    // With one worker slot, the other sender's delivery went while the limited ones waited.
    expect(sentAt(otherSend.id)[0]).toBeLessThan(slots[1]!);

    for (const delivery of deliveries) {
      const waits = logs.filter(
        (line) =>
          line.delivery_id === delivery.id && line.msg === 'delivery waits for its rate-limit slot',
      );
      const job = (await queues.deliveries.getJob(delivery.id))!;
      // Delayed once (started twice) or not at all: never spun.
      expect(job.attemptsStarted).toBe(waits.length + 1);
      expect(waits.length).toBeLessThanOrEqual(1);
    }
    expect(waits).toHaveLength(2);
  });
});
