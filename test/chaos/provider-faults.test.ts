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
import { startWahaServer, type WahaFault, type WahaServer } from '@outbound/fakes/waha-server';
import { startStampingProxy, type StampingProxy } from '@outbound/fakes/stamping-proxy';
import {
  callsByChat,
  CHAOS_CREDENTIALS_KEY,
  createWahaSend,
  DISPATCHER_MAIN,
  messagesByChat,
  printFigures,
  seedWahaSession,
  WAHA_API_KEY,
  waitFor,
} from './waha-chaos-fixtures.ts';

const ADAPTER_TIMEOUT_MS = 1_000;
const MAX_ATTEMPTS = 3;
/**
 * Longer than the up to ~1 s BullMQ may take to bring a delayed retry back whatever its backoff,
 * so only honouring Retry-After can make the gaps this long.
 */
const RETRY_AFTER_S = 2;

interface FaultCase {
  name: string;
  fault: WahaFault;
  /** How many calls get the fault; then the fake answers normally. */
  times: number;
  /** The delivery row at the end. */
  row: Partial<Delivery>;
  /** `error_code` of each `delivery.retrying` event, in order. */
  retried: string[];
  /** Calls the fake received, and messages it accepted, for the delivery. */
  calls: number;
  messages: number;
}

/**
 * How the dispatcher classifies each way WAHA can misbehave (the table of `errorForStatus` and
 * the WAHA adapter's notes): retryable faults are retried with backoff, up to
 * DELIVERY_MAX_ATTEMPTS, then `retries_exhausted`; permanent ones fail at once; a fault after
 * which WAHA may have sent the message (no answer in time, connection dropped) leaves the
 * delivery flagged `possible_duplicate`, since the retry may send it twice.
 */
const CASES: FaultCase[] = [
  {
    name: 'slow beyond ADAPTER_TIMEOUT_MS once: retried, sent, flagged (the slow call sent too)',
    fault: { type: 'delay', ms: ADAPTER_TIMEOUT_MS + 1_500 },
    times: 1,
    row: { status: 'sent', attempts: 2, possible_duplicate: true, error_code: null },
    retried: ['timeout'],
    calls: 2,
    messages: 2,
  },
  {
    name: 'slow every time: retries_exhausted after the last timeout, flagged',
    fault: { type: 'delay', ms: ADAPTER_TIMEOUT_MS + 1_500 },
    times: Infinity,
    row: {
      status: 'failed',
      attempts: MAX_ATTEMPTS,
      error_code: 'retries_exhausted',
      possible_duplicate: true,
    },
    retried: ['timeout', 'timeout'],
    calls: MAX_ATTEMPTS,
    messages: MAX_ATTEMPTS,
  },
  {
    name: '500 once: retried as provider_unavailable, sent, not flagged',
    fault: { type: 'status', status: 500, message: 'engine crashed' },
    times: 1,
    row: { status: 'sent', attempts: 2, possible_duplicate: false, error_code: null },
    retried: ['provider_unavailable'],
    calls: 2,
    messages: 1,
  },
  {
    name: '500 every time: retries_exhausted, not flagged',
    fault: { type: 'status', status: 500, message: 'engine crashed' },
    times: Infinity,
    row: {
      status: 'failed',
      attempts: MAX_ATTEMPTS,
      error_code: 'retries_exhausted',
      possible_duplicate: false,
    },
    retried: ['provider_unavailable', 'provider_unavailable'],
    calls: MAX_ATTEMPTS,
    messages: 0,
  },
  {
    name: '429 with Retry-After twice: retried as rate_limited, sent, not flagged',
    fault: { type: 'status', status: 429, retryAfter: String(RETRY_AFTER_S) },
    times: 2,
    row: { status: 'sent', attempts: 3, possible_duplicate: false, error_code: null },
    retried: ['rate_limited', 'rate_limited'],
    calls: 3,
    messages: 1,
  },
  {
    name: 'connection reset after WAHA recorded the message: retried, sent, flagged',
    fault: { type: 'reset_after_send' },
    times: 1,
    row: { status: 'sent', attempts: 2, possible_duplicate: true, error_code: null },
    retried: ['connection_failed'],
    calls: 2,
    messages: 2,
  },
  {
    name: 'malformed JSON answer: permanent provider_bad_response, never retried',
    fault: { type: 'malformed_json' },
    times: Infinity,
    row: {
      status: 'failed',
      attempts: 1,
      error_code: 'provider_bad_response',
      possible_duplicate: false,
    },
    retried: [],
    calls: 1,
    messages: 1,
  },
  {
    name: '400: permanent rejected_by_provider, never retried',
    fault: { type: 'status', status: 400, message: 'Chat not found' },
    times: Infinity,
    row: {
      status: 'failed',
      attempts: 1,
      error_code: 'rejected_by_provider',
      possible_duplicate: false,
    },
    retried: [],
    calls: 1,
    messages: 0,
  },
];

const chatOf = (index: number) => `fault-${index}@g.us`;

describe('a dispatcher against a misbehaving WAHA', () => {
  let database: TestDatabase;
  let redis: TestRedis;
  let producer: Redis;
  let queues: Queues;
  let waha: WahaServer;
  let proxy: StampingProxy;
  let dispatcher: ServiceProcess;
  const sendIds: string[] = [];
  let refusedSendId: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    redis = createTestRedis();
    waha = await startWahaServer({ apiKey: WAHA_API_KEY });
    proxy = await startStampingProxy(waha.url);
    producer = createWorkerConnection({ url: redis.url, connectionName: 'faults-producer' });
    queues = createQueues({ connection: producer, prefix: redis.prefix });
    dispatcher = startServiceProcess(
      DISPATCHER_MAIN,
      testEnv(database, redis, {
        LOG_LEVEL: 'info',
        CREDENTIALS_ENCRYPTION_KEY: CHAOS_CREDENTIALS_KEY,
        DATABASE_POOL_MAX: '4',
        ADAPTER_TIMEOUT_MS: String(ADAPTER_TIMEOUT_MS),
        DELIVERY_MAX_ATTEMPTS: String(MAX_ATTEMPTS),
        // Far below Retry-After, so gaps as long as Retry-After can only come from honouring it.
        DELIVERY_BACKOFF_MS: '100',
      }),
    );
    await dispatcher.waitForLog((line) => line.msg === 'dispatcher ready');

    const session = await seedWahaSession(database.db, { baseUrl: proxy.url, perSecond: 1_000 });
    for (const [index, fault] of CASES.entries()) {
      waha.inject(fault.fault, { chatId: chatOf(index), times: fault.times });
    }
    for (const index of CASES.keys()) {
      sendIds.push((await createWahaSend(database.db, queues, session, [chatOf(index)])).send.id);
    }
    // A session whose WAHA is down: nothing listens on its port.
    const gone = await startWahaServer();
    const deadUrl = gone.url;
    await gone.stop();
    const down = await seedWahaSession(database.db, { baseUrl: deadUrl, perSecond: 1_000 });
    refusedSendId = (await createWahaSend(database.db, queues, down, ['down@g.us'])).send.id;
  });
  afterAll(async () => {
    await dispatcher.stop('SIGKILL');
    await closeQueues(queues);
    producer.disconnect();
    await proxy.stop();
    await waha.stop();
    await redis.clear();
    await database.drop();
  });

  async function finished(sendId: string): Promise<Delivery> {
    return waitFor(async () => {
      const delivery = await database.db
        .selectFrom('deliveries')
        .selectAll()
        .where('send_id', '=', sendId)
        .executeTakeFirstOrThrow();
      return delivery.status === 'queued' || delivery.status === 'sending' ? undefined : delivery;
    }, 20_000);
  }

  it.each(CASES.map((fault, index) => ({ ...fault, index })))('$name', async (fault) => {
    const chat = chatOf(fault.index);
    const delivery = await finished(sendIds[fault.index]!);
    // A slow call is still held by the fake after the dispatcher gave up on it; it sends later.
    await waitFor(
      () =>
        Promise.resolve(
          (messagesByChat(waha.messages()).get(chat)?.length ?? 0) >= fault.messages
            ? true
            : undefined,
        ),
      10_000,
    );
    const events = await database.db
      .selectFrom('events')
      .select(['type', 'payload'])
      .where('delivery_id', '=', delivery.id)
      .orderBy('id')
      .execute();
    const retried = events
      .filter((event) => event.type === 'delivery.retrying')
      .map((event) => (event.payload as { error_code?: string }).error_code);

    expect(delivery).toMatchObject(fault.row);
    expect(retried).toEqual(fault.retried);
    expect(callsByChat(waha.calls()).get(chat) ?? 0).toBe(fault.calls);
    expect(messagesByChat(waha.messages()).get(chat) ?? []).toHaveLength(fault.messages);
    if (delivery.status === 'sent') {
      expect(waha.message(delivery.provider_message_id!)).toMatchObject({ chatId: chat });
    }
    if (delivery.error_code === 'retries_exhausted') {
      expect(delivery.error_message).toContain(`last error ${fault.retried[0]}:`);
    }
    if (delivery.error_code === 'rejected_by_provider') {
      expect(delivery.error_message).toContain('Chat not found');
    }
  });

  it('retries a WAHA refusing connections as connection_failed, never flagged: nothing was sent', async () => {
    const delivery = await finished(refusedSendId);
    expect(delivery).toMatchObject({
      status: 'failed',
      attempts: MAX_ATTEMPTS,
      error_code: 'retries_exhausted',
      possible_duplicate: false,
    });
    expect(delivery.error_message).toContain('last error connection_failed:');
    expect(delivery.error_message).toContain('ECONNREFUSED');
  });

  it(`waits at least the Retry-After (${RETRY_AFTER_S} s) between calls answered 429`, async () => {
    const index = CASES.findIndex((fault) => fault.fault.type === 'status' && fault.times === 2);
    await finished(sendIds[index]!);
    const arrivals = proxy
      .requests()
      .filter((request) => (request.body as { chatId?: string }).chatId === chatOf(index))
      .map((request) => request.at);
    const gaps = arrivals.slice(1).map((at, i) => at - arrivals[i]!);
    printFigures(`calls to a WAHA answering 429 Retry-After: ${RETRY_AFTER_S}`, {
      calls: arrivals.length,
      'gaps between successive calls (ms)': gaps.join(', '),
    });

    expect(arrivals).toHaveLength(3);
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(RETRY_AFTER_S * 1_000);
  });
  it(`holds the whole sender off for the Retry-After of a 429, not only the delivery`, async () => {
    const session = await seedWahaSession(database.db, { baseUrl: proxy.url, perSecond: 5 });
    const chats = Array.from({ length: 15 }, (_, index) => `hold-off-${index}@g.us`);
    waha.inject(
      { type: 'status', status: 429, retryAfter: String(RETRY_AFTER_S) },
      { chatId: chats[0]!, times: 1 },
    );
    const created = await createWahaSend(database.db, queues, session, chats);
    await waitFor(async () => {
      const unfinished = await database.db
        .selectFrom('deliveries')
        .select('id')
        .where('send_id', '=', created.send.id)
        .where('status', 'in', ['queued', 'sending'])
        .execute();
      return unfinished.length === 0 ? true : undefined;
    }, 30_000);

    const arrivals = proxy
      .requests()
      .filter((request) => chats.includes((request.body as { chatId?: string }).chatId ?? ''))
      .map((request) => request.at)
      .sort((a, b) => a - b);
    const refusedAt = proxy
      .requests()
      .find((request) => (request.body as { chatId?: string }).chatId === chats[0])!.at;
    // Calls already on their way when the 429 came back may land just after it; none later.
    const held = arrivals.filter(
      (at) => at > refusedAt + 250 && at < refusedAt + RETRY_AFTER_S * 1_000,
    );
    const gaps = arrivals.slice(1).map((at, i) => at - arrivals[i]!);
    printFigures('a sender answered 429 once, 15 deliveries at 5/s', {
      calls: arrivals.length,
      'calls within the Retry-After after the 429': held.length,
      'longest gap between calls (ms)': Math.max(...gaps),
    });
    expect(arrivals).toHaveLength(chats.length + 1);
    expect(held).toEqual([]);
  });
});
