import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, loadConfig } from '@outbound/config';
import { createDb, type Db } from '@outbound/db';
import {
  closeQueues,
  createQueues,
  createWorkerConnection,
  enqueue,
  type Queues,
} from '@outbound/queue';
import {
  createTestDatabase,
  createTestRedis,
  testEnv,
  type TestDatabase,
  type TestRedis,
} from '@outbound/test/harness';
import { parsePrometheusText, sumOf } from '@outbound/test/prometheus-text';
import { createDispatcher, type Dispatcher } from './dispatcher.ts';
import { type HttpListener, startHttpListener } from './http-listener.ts';
import { createDispatcherMetrics } from './metrics.ts';
import {
  captureLogs,
  createQueuedSend,
  seedSender,
  testCipher,
  waitFor,
  waitUntilFinished,
} from './test-support/fixtures.ts';
import { seedSchedule } from './test-support/schedules.ts';

let database: TestDatabase;
let redis: TestRedis;
let producer: Redis;
let queues: Queues;
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  redis = createTestRedis();
  producer = createWorkerConnection({ url: redis.url, connectionName: 'http-listener-test' });
  queues = createQueues({ connection: producer, prefix: redis.prefix });
});

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  await closeQueues(queues);
  producer.disconnect();
  await redis.clear();
  await database.drop();
});

/** A dispatcher (not started) with its listener on a free port. */
async function listening(): Promise<{ dispatcher: Dispatcher; listener: HttpListener; db: Db }> {
  const config = loadConfig(
    testEnv(database, redis, {
      LOG_LEVEL: 'info',
      DISPATCHER_CONCURRENCY: '4',
      SWEEPER_INTERVAL_MS: '3600000',
      SWEEPER_QUEUED_AFTER_MS: '1000',
      POLL_INTERVAL_MS: '3600000',
      RECONCILE_INTERVAL_MS: '3600000',
      WEBHOOK_RELAY_INTERVAL_MS: '3600000',
    }),
  );
  const logger = createLogger(config, {
    name: 'dispatcher',
    destination: captureLogs().destination,
  });
  const db = createDb({ connectionString: database.url, poolMax: 4 });
  const connection = createWorkerConnection({ url: redis.url });
  const metrics = createDispatcherMetrics();
  const dispatcher = createDispatcher({
    config,
    logger,
    db,
    connection,
    cipher: testCipher,
    metrics,
  });
  cleanups.push(() => dispatcher.close());
  const listener = await startHttpListener({
    host: '127.0.0.1',
    port: 0,
    dispatcher,
    metrics,
    db,
    redis: connection,
    logger,
    readinessTimeoutMs: 300,
  });
  cleanups.push(() => listener.close());
  return { dispatcher, listener, db };
}

async function getJson(url: string): Promise<{ status: number; body: unknown }> {
  const response = await fetch(url);
  expect(response.headers.get('content-type')).toBe('application/json');
  return { status: response.status, body: await response.json() };
}

async function scrape(listener: HttpListener) {
  const response = await fetch(`${listener.url}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
  return parsePrometheusText(await response.text());
}

describe("a dispatcher's HTTP listener", () => {
  it('is live while starting, ready once started, and counts deliveries, lag and moves', async () => {
    // An active schedule without its job scheduler: the reconcile at start upserts it.
    await seedSchedule(database.db, {
      firstRunAt: new Date(Date.now() + 3_600_000),
      intervalMs: null,
    });
    const { dispatcher, listener, db } = await listening();

    expect(await getJson(`${listener.url}/healthz`)).toEqual({
      status: 200,
      body: { status: 'starting' },
    });
    expect(await getJson(`${listener.url}/readyz`)).toEqual({
      status: 503,
      body: { status: 'starting', checks: { postgres: 'ok', redis: 'ok' } },
    });

    await dispatcher.start();
    expect(await getJson(`${listener.url}/healthz`)).toEqual({
      status: 200,
      body: { status: 'running' },
    });
    expect(await getJson(`${listener.url}/readyz`)).toEqual({
      status: 200,
      body: { status: 'running', checks: { postgres: 'ok', redis: 'ok' } },
    });

    const sender = await seedSender(db);
    const { send } = await createQueuedSend(db, queues, sender, ['a@g.us', 'b@g.us']);
    // One more, due a minute ago, whose job was lost: the sweeper enqueues it.
    const lost = await createQueuedSend(db, undefined, sender, ['lost@g.us']);
    await db
      .updateTable('deliveries')
      .set({ updated_at: new Date(Date.now() - 60_000), due_at: new Date(Date.now() - 60_000) })
      .where('send_id', '=', lost.send.id)
      .execute();
    // A job for later, seen as delayed.
    await queues.deliveries.add(
      'deliver',
      { delivery_id: randomUUID(), organization_id: sender.organizationId },
      { delay: 3_600_000 },
    );
    await enqueue(queues, 'sweep', {});
    await waitUntilFinished(db, [send.id, lost.send.id]);

    const sandbox = { channel: 'whatsapp', provider: 'sandbox' };
    const samples = await waitFor(async () => {
      const scraped = await scrape(listener);
      return sumOf(scraped, 'outbound_deliveries_total', { ...sandbox, outcome: 'sent' }) === 3
        ? scraped
        : undefined;
    });
    expect(sumOf(samples, 'outbound_deliveries_total', { outcome: 'failed' })).toBe(0);
    expect(
      sumOf(samples, 'outbound_provider_call_duration_seconds_count', {
        provider: 'sandbox',
        outcome: 'ok',
      }),
    ).toBe(3);
    expect(sumOf(samples, 'outbound_delivery_due_lag_seconds_count', { channel: 'whatsapp' })).toBe(
      3,
    );
    // The lost delivery waited a minute before the sweeper found it.
    expect(
      sumOf(samples, 'outbound_delivery_due_lag_seconds_bucket', { channel: 'whatsapp', le: '30' }),
    ).toBe(2);
    expect(sumOf(samples, 'outbound_sweeper_actions_total', { action: 'enqueued' })).toBe(1);
    expect(sumOf(samples, 'outbound_sweeper_actions_total', { action: 'reset' })).toBe(0);
    expect(sumOf(samples, 'outbound_reconciler_actions_total', { action: 'upserted' })).toBe(1);

    const depth = samples.filter((sample) => sample.name === 'outbound_queue_jobs');
    expect(depth.map(({ labels }) => `${labels.queue}/${labels.state}`).sort()).toEqual(
      ['deliveries', 'scheduler', 'webhooks'].flatMap((queue) =>
        ['active', 'delayed', 'failed', 'waiting'].map((state) => `${queue}/${state}`),
      ),
    );
    expect(sumOf(samples, 'outbound_queue_jobs', { queue: 'deliveries', state: 'delayed' })).toBe(
      1,
    );
    expect(sumOf(samples, 'outbound_dispatcher_process_cpu_user_seconds_total')).toBeGreaterThan(0);

    await dispatcher.close();
    expect((await getJson(`${listener.url}/healthz`)).body).toEqual({ status: 'stopping' });
    expect((await getJson(`${listener.url}/readyz`)).status).toBe(503);
  });

  it('answers every path in time while Redis is down, leaving queue depths out', async () => {
    // A dispatcher cannot start without Redis; the listener serves the one still starting.
    const down = createWorkerConnection({ url: 'redis://127.0.0.1:1' });
    down.on('error', () => {});
    const downQueues = createQueues({ connection: down, prefix: redis.prefix });
    for (const queue of Object.values(downQueues)) queue.on('error', () => {});
    const metrics = createDispatcherMetrics({ processMetrics: false, queueCountTimeoutMs: 200 });
    metrics.watchQueues(downQueues);
    const db = createDb({ connectionString: database.url, poolMax: 1 });
    const listener = await startHttpListener({
      host: '127.0.0.1',
      port: 0,
      dispatcher: { status: () => 'starting' },
      metrics,
      db,
      redis: down,
      logger: createLogger(loadConfig({ LOG_LEVEL: 'silent' }), { name: 'dispatcher' }),
      readinessTimeoutMs: 300,
    });
    cleanups.push(async () => {
      await listener.close();
      await closeQueues(downQueues);
      down.disconnect();
      await db.destroy();
    });

    const started = Date.now();
    const samples = await scrape(listener);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(samples.filter((sample) => sample.name === 'outbound_queue_jobs')).toEqual([]);
    expect(sumOf(samples, 'outbound_reconciler_actions_total', { action: 'removed' })).toBe(0);
    expect(samples.some((sample) => sample.name === 'outbound_reconciler_actions_total')).toBe(
      true,
    );

    expect(await getJson(`${listener.url}/readyz`)).toEqual({
      status: 503,
      body: { status: 'starting', checks: { postgres: 'ok', redis: 'down' } },
    });
    expect((await getJson(`${listener.url}/healthz`)).status).toBe(200);
  });

  it('serves only its three paths, to GET and HEAD', async () => {
    const { listener } = await listening();
    expect((await fetch(`${listener.url}/metrics?x=1`, { method: 'HEAD' })).status).toBe(200);
    expect((await getJson(`${listener.url}/nowhere`)).status).toBe(404);
    const post = await fetch(`${listener.url}/healthz`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });
});
