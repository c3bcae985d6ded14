import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, loadConfig } from '@outbound/config';
import {
  createDb,
  createOrganization,
  createWebhookEndpoint,
  type Db,
  recordEvents,
  type WebhookDelivery,
} from '@outbound/db';
import { generateWebhookSecret } from '@outbound/domain';
import { startWebhookReceiver, type WebhookReceiver } from '@outbound/fakes/webhook-receiver';
import {
  closeQueues,
  createQueues,
  createWorkerConnection,
  enqueueWebhookDeliveries,
  type Queues,
} from '@outbound/queue';
import {
  createTestDatabase,
  createTestRedis,
  testEnv,
  type TestDatabase,
  type TestRedis,
} from '@outbound/test/harness';
import { readmeSignatureVerifier, type SignatureVerifier } from '@outbound/test/readme-signature';
import { createDispatcher, type Dispatcher } from '../dispatcher.ts';
import {
  captureLogs,
  createQueuedSend,
  seedSender,
  testCipher,
  waitFor,
  waitUntilFinished,
} from '../test-support/fixtures.ts';

/**
 * Status webhooks through a real dispatcher (in process), real PostgreSQL, Redis and BullMQ,
 * and receivers that are local HTTP servers: retries, a silent receiver beside message
 * delivery, the address check at call time, per-send order, the sweeper's re-drive.
 */

let database: TestDatabase;
let redis: TestRedis;
let db: Db;
let producer: Redis;
let queues: Queues;
let dispatcher: Dispatcher;
let verify: SignatureVerifier;
const logs = captureLogs();
const receivers: WebhookReceiver[] = [];

/** The test's stand-in for DNS: `rebind.test` now points at loopback. */
const resolve = (hostname: string): Promise<string[]> =>
  hostname === 'rebind.test'
    ? Promise.resolve(['127.0.0.1'])
    : Promise.reject(new Error(`ENOTFOUND ${hostname}`));

const BACKOFF_MS = 100;
const BACKOFF_MAX_MS = 400;

beforeAll(async () => {
  database = await createTestDatabase();
  db = database.db;
  redis = createTestRedis();
  producer = createWorkerConnection({ url: redis.url, connectionName: 'webhooks-test' });
  queues = createQueues({ connection: producer, prefix: redis.prefix });
  verify = await readmeSignatureVerifier();
  const config = loadConfig(
    testEnv(database, redis, {
      LOG_LEVEL: 'info',
      DISPATCHER_CONCURRENCY: '4',
      WEBHOOK_CONCURRENCY: '4',
      WEBHOOK_RELAY_INTERVAL_MS: '100',
      WEBHOOK_TIMEOUT_MS: '5000',
      WEBHOOK_MAX_ATTEMPTS: '6',
      WEBHOOK_BACKOFF_MS: String(BACKOFF_MS),
      WEBHOOK_BACKOFF_MAX_MS: String(BACKOFF_MAX_MS),
      WEBHOOK_ORDER_WAIT_MS: '10000',
      WEBHOOK_ALLOW_HOSTS: '127.0.0.1',
      WEBHOOK_ALLOW_HTTP: 'true',
      SWEEPER_INTERVAL_MS: '3600000',
      SWEEPER_QUEUED_AFTER_MS: '1000',
    }),
  );
  dispatcher = createDispatcher({
    config,
    logger: createLogger(config, { name: 'dispatcher', destination: logs.destination }),
    db: createDb({ connectionString: database.url, poolMax: 6 }),
    connection: createWorkerConnection({ url: redis.url }),
    cipher: testCipher,
    webhookResolve: resolve,
  });
  await dispatcher.start();
});

afterEach(async () => {
  await Promise.all(receivers.splice(0).map((receiver) => receiver.close()));
});

afterAll(async () => {
  await dispatcher.close();
  await closeQueues(queues);
  producer.disconnect();
  await redis.clear();
  await database.drop();
});

async function receiver(...args: Parameters<typeof startWebhookReceiver>) {
  const started = await startWebhookReceiver(...args);
  receivers.push(started);
  return started;
}

/** An organization with one endpoint (made as the API makes it), and the endpoint's secret. */
async function endpointFor(url: string, events: readonly string[] = ['*']) {
  const organization = await createOrganization(db, 'Webhooks test');
  const secret = generateWebhookSecret();
  const endpoint = await createWebhookEndpoint(db, testCipher, {
    organizationId: organization.id,
    url,
    eventTypes: events,
    secret,
    maxPerOrganization: 20,
  });
  return { organizationId: organization.id, endpointId: endpoint!.id, secret };
}

function webhookDeliveriesOf(endpointId: string): Promise<WebhookDelivery[]> {
  return db
    .selectFrom('webhook_deliveries')
    .selectAll()
    .where('endpoint_id', '=', endpointId)
    .orderBy('event_id')
    .execute();
}

/** The endpoint's only webhook delivery, once `done` says it is where the test wants it. */
function waitForDelivery(endpointId: string, done: (row: WebhookDelivery) => boolean) {
  return waitFor(async () => {
    const [row] = await webhookDeliveriesOf(endpointId);
    return row !== undefined && done(row) ? row : undefined;
  }, 15_000);
}

/**
 * A webhook delivery made by hand for an event the relay will not see, as if the relay had
 * committed it and its job had then been lost.
 */
async function orphanedDelivery(
  organizationId: string,
  endpointId: string,
  nextAttemptAt: Date,
): Promise<string> {
  const id = randomUUID();
  await db.transaction().execute(async (tx) => {
    const [eventId] = await recordEvents(tx, [
      { organizationId, type: 'draft.ready_for_review', payload: { subject: 'orphan' } },
    ]);
    await tx
      .updateTable('events')
      .set({ relayed_at: new Date() })
      .where('id', '=', eventId!)
      .execute();
    await tx
      .insertInto('webhook_deliveries')
      .values({
        id,
        organization_id: organizationId,
        endpoint_id: endpointId,
        event_id: eventId!,
        send_id: null,
        next_attempt_at: nextAttemptAt,
      })
      .execute();
  });
  return id;
}

describe('status webhooks', () => {
  it('retries a receiver that answers 500 three times, and delivers on the fourth call', async () => {
    const hook = await receiver((_, n) => (n <= 3 ? 500 : 204));
    const { organizationId, endpointId, secret } = await endpointFor(hook.url);
    const [eventId] = await recordEvents(db, [
      {
        organizationId,
        type: 'draft.ready_for_review',
        payload: { subject: 'a body only the receiver may see' },
      },
    ]);

    const row = await waitForDelivery(endpointId, (found) => found.status === 'delivered');
    expect(row).toMatchObject({
      event_id: eventId,
      attempts: 4,
      last_status_code: 204,
      last_error: null,
    });
    expect(hook.calls).toHaveLength(4);
    for (const call of hook.calls) {
      expect(call.headers['outbound-event-id']).toBe(eventId);
      expect(call.headers['content-type']).toBe('application/json');
      expect(verify(call.rawBody, call.headers['outbound-signature'], secret)).toBe(true);
      expect(verify(call.rawBody, call.headers['outbound-signature'], `${secret}x`)).toBe(false);
      expect(call.rawBody.equals(hook.calls[0]!.rawBody)).toBe(true);
    }
    expect(hook.calls[0]!.body).toMatchObject({
      id: eventId,
      type: 'draft.ready_for_review',
      organization_id: organizationId,
      data: { subject: 'a body only the receiver may see' },
    });
    expect(hook.calls[0]!.body).not.toHaveProperty('send_id');
    // Each retry waited at least its backoff: 100, 200, then 400 ms (the cap).
    const gaps = hook.calls.slice(1).map((call, i) => call.receivedAt - hook.calls[i]!.receivedAt);
    expect(gaps[0]).toBeGreaterThanOrEqual(BACKOFF_MS * 0.9);
    expect(gaps[1]).toBeGreaterThanOrEqual(2 * BACKOFF_MS * 0.9);
    expect(gaps[2]).toBeGreaterThanOrEqual(BACKOFF_MAX_MS * 0.9);
    // The logs tell the story by ids and statuses, never with the secret or the body.
    const lines = logs.lines.filter((line) => line.webhook_delivery_id === row.id);
    expect(lines.map((line) => line.msg)).toEqual([
      'webhook call failed; will retry',
      'webhook call failed; will retry',
      'webhook call failed; will retry',
      'webhook delivered',
    ]);
    const raw = logs.raw.join('\n');
    expect(raw).not.toContain(secret);
    expect(raw).not.toContain('a body only the receiver may see');
  });

  it('fails a webhook delivery after WEBHOOK_MAX_ATTEMPTS calls', async () => {
    const hook = await receiver(() => 503);
    const { organizationId, endpointId } = await endpointFor(hook.url);
    await recordEvents(db, [{ organizationId, type: 'schedule.created' }]);
    const row = await waitForDelivery(endpointId, (found) => found.status === 'failed');
    expect(row).toMatchObject({ attempts: 6, last_status_code: 503 });
    expect(row.last_error).toBe('HTTP 503 (after 6 attempts)');
    expect(hook.calls).toHaveLength(6);
  });

  it('keeps delivering messages on time while a receiver never answers', async () => {
    const silent = await receiver(() => 'hang');
    const { organizationId, endpointId } = await endpointFor(silent.url);
    // Enough events to take every webhook slot of the dispatcher with a call that hangs.
    await recordEvents(
      db,
      Array.from({ length: 8 }, (_, i) => ({
        organizationId,
        type: 'draft.ready_for_review',
        payload: { n: i },
      })),
    );
    await waitFor(() => Promise.resolve(silent.hanging() >= 4 ? true : undefined), 5_000);

    const sender = await seedSender(db);
    await createWebhookEndpoint(db, testCipher, {
      organizationId: sender.organizationId,
      url: silent.url,
      eventTypes: ['*'],
      secret: generateWebhookSecret(),
      maxPerOrganization: 20,
    });
    const started = Date.now();
    const send = await createQueuedSend(db, queues, sender, ['a@g.us', 'b@g.us', 'c@g.us']);
    const finished = await waitUntilFinished(db, [send.send.id], 10_000);
    const tookMs = Date.now() - started;

    expect(finished.map((delivery) => delivery.status)).toEqual(['sent', 'sent', 'sent']);
    // Well inside one webhook timeout (5 s): the hanging calls held nothing back.
    expect(tookMs).toBeLessThan(3_000);
    expect(silent.hanging()).toBeGreaterThanOrEqual(4);
    const hooks = await webhookDeliveriesOf(endpointId);
    expect(hooks.every((hook) => hook.status === 'pending')).toBe(true);
  });

  it.each([
    ['a name that now resolves to loopback', (port: number) => `http://rebind.test:${port}/hook`],
    ['an IPv4-mapped loopback literal', (port: number) => `http://[::ffff:127.0.0.1]:${port}/hook`],
    ['another loopback address', (port: number) => `http://127.0.0.2:${port}/hook`],
  ])('refuses to call %s, failing the delivery at once', async (_, urlOf) => {
    const hook = await receiver();
    // Made past the API's check, as a DNS change or an old row would leave it.
    const { organizationId, endpointId } = await endpointFor(urlOf(hook.port));
    await recordEvents(db, [{ organizationId, type: 'send.accepted' }]);
    const row = await waitForDelivery(endpointId, (found) => found.status === 'failed');
    expect(row.attempts).toBe(1);
    expect(row.last_status_code).toBeNull();
    expect(row.last_error).toMatch(/^private_address: .*private or reserved address/);
    expect(row.last_error).not.toContain('127.0.0.1');
    expect(hook.calls).toEqual([]);
  });

  it("sends one send's events to an endpoint in order, each exactly once", async () => {
    // The first call of `send.accepted` fails: the send's later events must wait for its retry.
    let refusedFirst = false;
    const hook = await receiver((call) => {
      if (call.body.type !== 'send.accepted' || refusedFirst) return 200;
      refusedFirst = true;
      return 500;
    });
    const sender = await seedSender(db);
    const secret = generateWebhookSecret();
    await createWebhookEndpoint(db, testCipher, {
      organizationId: sender.organizationId,
      url: hook.url,
      eventTypes: ['*'],
      secret,
      maxPerOrganization: 20,
    });
    const send = await createQueuedSend(db, queues, sender, ['a@g.us', 'b@g.us', 'c@g.us']);
    await waitUntilFinished(db, [send.send.id]);
    const recorded = await db
      .selectFrom('events')
      .select(['id', 'type', 'delivery_id'])
      .where('send_id', '=', send.send.id)
      .orderBy('id')
      .execute();
    await waitFor(
      () => Promise.resolve(hook.calls.length >= recorded.length + 1 ? true : undefined),
      10_000,
    );

    const [refused, ...delivered] = hook.calls;
    expect(refused?.body.type).toBe('send.accepted');
    const received = delivered.map((call) => call.body);
    expect(received.map((event) => event.id).sort()).toEqual(recorded.map((e) => e.id).sort());
    expect(received[0]?.type).toBe('send.accepted');
    expect(received.at(-1)?.type).toBe('send.sent');
    for (const { delivery_id } of recorded.filter((event) => event.delivery_id !== null)) {
      const ofDelivery = received.filter((event) => event.delivery_id === delivery_id);
      expect(ofDelivery.map((event) => event.type)).toEqual(['delivery.sending', 'delivery.sent']);
    }
    for (const call of hook.calls) {
      expect(verify(call.rawBody, call.headers['outbound-signature'], secret)).toBe(true);
    }
  });

  it('gives a pending webhook delivery that lost its job a new one, once', async () => {
    const hook = await receiver();
    const { organizationId, endpointId } = await endpointFor(hook.url);
    const id = await orphanedDelivery(organizationId, endpointId, new Date(Date.now() - 5_000));
    // Due too recently to count as lost: left alone.
    await orphanedDelivery(organizationId, endpointId, new Date());

    expect(await dispatcher.webhookSweeper.sweep()).toBe(1);
    const row = await waitFor(async () => {
      const found = await db
        .selectFrom('webhook_deliveries')
        .selectAll()
        .where('id', '=', id)
        .executeTakeFirst();
      return found?.status === 'delivered' ? found : undefined;
    });
    expect(row.attempts).toBe(1);
    expect(hook.calls).toHaveLength(1);
    expect(await dispatcher.webhookSweeper.sweep()).toBe(0);
  });

  it('cancels a pending webhook delivery whose endpoint was deleted, without calling it', async () => {
    const hook = await receiver();
    const { organizationId, endpointId } = await endpointFor(hook.url);
    const id = await orphanedDelivery(organizationId, endpointId, new Date());
    await db
      .updateTable('webhook_endpoints')
      .set({ disabled_at: new Date() })
      .where('id', '=', endpointId)
      .execute();
    await enqueueWebhookDeliveries(queues, [
      { webhook_delivery_id: id, organization_id: organizationId },
    ]);
    await waitForDelivery(endpointId, (found) => found.status === 'canceled');
    expect(hook.calls).toEqual([]);
  });
});
