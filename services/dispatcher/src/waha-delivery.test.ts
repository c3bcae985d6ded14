import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, loadConfig } from '@outbound/config';
import { createDb, createOrganization, createSender, type Db } from '@outbound/db';
import { closeQueues, createQueues, createWorkerConnection, type Queues } from '@outbound/queue';
import {
  createTestDatabase,
  createTestRedis,
  testEnv,
  type TestDatabase,
  type TestRedis,
} from '@outbound/test/harness';
import { startWahaServer, type WahaServer } from '@outbound/fakes/waha-server';
import { createDispatcher, type Dispatcher } from './dispatcher.ts';
import {
  captureLogs,
  createQueuedSend,
  testCipher,
  waitUntilFinished,
  type SeededSender,
} from './test-support/fixtures.ts';

const API_KEY = 'waha-test-key';

/**
 * The real pipeline against a local server speaking WAHA's wire format: the registry's WAHA
 * adapter, real BullMQ retries with backoff, and the provider's own answers.
 */
describe('deliveries through WAHA', () => {
  let database: TestDatabase;
  let redis: TestRedis;
  let db: Db;
  let producer: Redis;
  let queues: Queues;
  let dispatcher: Dispatcher;
  let waha: WahaServer;
  let sender: SeededSender;

  beforeAll(async () => {
    database = await createTestDatabase();
    db = database.db;
    redis = createTestRedis();
    waha = await startWahaServer({ apiKey: API_KEY });
    producer = createWorkerConnection({ url: redis.url });
    queues = createQueues({ connection: producer, prefix: redis.prefix });
    const config = loadConfig(
      testEnv(database, redis, {
        DELIVERY_MAX_ATTEMPTS: '4',
        DELIVERY_BACKOFF_MS: '50',
        ADAPTER_TIMEOUT_MS: '2000',
        SWEEPER_INTERVAL_MS: '3600000',
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

    const organization = await createOrganization(db, 'WAHA');
    const session = await createSender(db, testCipher, {
      organizationId: organization.id,
      channel: 'whatsapp',
      provider: 'waha',
      name: 'waha session',
      rateLimit: { max: 1_000, window_ms: 1_000 },
      settings: { base_url: waha.url, session: 'default' },
      credentials: { api_key: API_KEY },
    });
    sender = { organizationId: organization.id, senderId: session.id };
  });

  afterAll(async () => {
    await dispatcher.close();
    await closeQueues(queues);
    producer.disconnect();
    await waha.stop();
    await redis.clear();
    await database.drop();
  });

  it('retries a 503 and records the message id of the send that got through', async () => {
    waha.inject({ type: 'status', status: 503 }, { chatId: 'retry-503@g.us', times: 1 });
    const { send } = await createQueuedSend(db, queues, sender, ['retry-503@g.us']);
    const [delivery] = await waitUntilFinished(db, [send.id]);

    const calls = waha.calls().filter((call) => JSON.stringify(call.body).includes('retry-503'));
    expect(calls.map((call) => call.answer)).toEqual([503, 201]);
    expect(calls.every((call) => call.apiKey === API_KEY)).toBe(true);
    expect(delivery).toMatchObject({ status: 'sent', attempts: 2 });
    expect(waha.message(delivery!.provider_message_id!)).toMatchObject({
      chatId: 'retry-503@g.us',
    });
  });

  it('waits out a 429 for its Retry-After before trying again', async () => {
    waha.inject(
      { type: 'status', status: 429, retryAfter: '1' },
      { chatId: 'slow-down@g.us', times: 1 },
    );
    const { send } = await createQueuedSend(db, queues, sender, ['slow-down@g.us']);
    const [delivery] = await waitUntilFinished(db, [send.id]);

    const attempts = await db
      .selectFrom('events')
      .select(['type', 'created_at'])
      .where('delivery_id', '=', delivery!.id)
      .orderBy('created_at')
      .execute();
    const claims = attempts.filter((event) => event.type === 'delivery.sending');
    expect(delivery).toMatchObject({ status: 'sent', attempts: 2 });
    expect(claims).toHaveLength(2);
    // The second claim honours the provider's 1 s, not the 50 ms backoff.
    expect(
      claims[1]!.created_at.getTime() - claims[0]!.created_at.getTime(),
    ).toBeGreaterThanOrEqual(950);
  });

  it('fails a 400 at once, with WAHA\u2019s reason, and never calls again', async () => {
    waha.inject(
      { type: 'status', status: 400, message: 'chatId is not valid' },
      { chatId: 'bad-chat@g.us', times: Infinity },
    );
    const { send } = await createQueuedSend(db, queues, sender, ['bad-chat@g.us']);
    const [delivery] = await waitUntilFinished(db, [send.id]);

    expect(delivery).toMatchObject({ status: 'failed', attempts: 1 });
    expect(delivery!.error_message).toContain('chatId is not valid');
    const calls = waha.calls().filter((call) => JSON.stringify(call.body).includes('bad-chat'));
    expect(calls).toHaveLength(1);
  });
});
