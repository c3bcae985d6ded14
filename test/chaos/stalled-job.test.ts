import type { Redis } from 'ioredis';
import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSend } from '@outbound/db';
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
import { startServiceProcess, type ServiceProcess } from '@outbound/test/service-process';
import { startWahaServer, type WahaServer } from '@outbound/fakes/waha-server';
import {
  callsByChat,
  CHAOS_CREDENTIALS_KEY,
  DISPATCHER_MAIN,
  expectLog,
  printFigures,
  seedWahaSession,
  WAHA_API_KEY,
  waitFor,
} from './waha-chaos-fixtures.ts';

const CHAT = 'stalls-twice@g.us';
const MAX_STALLED_COUNT = 1;

/**
 * BullMQ fails a job that stalls more than `maxStalledCount` times ("job stalled more than
 * allowable limit") without running it. The delivery behind it is still `queued` in Postgres:
 * the sweeper must give it a new job, not leave it for good (DESIGN §5).
 *
 * To stall a job on purpose, the test holds a row lock on the delivery, so a dispatcher that
 * takes the job blocks in its claim (`queued → sending`) with the job active; then it is killed.
 * Twice, and a third dispatcher finds the job over the limit.
 */
describe('a delivery job that stalls more than WORKER_MAX_STALLED_COUNT times', () => {
  let database: TestDatabase;
  let redis: TestRedis;
  let producer: Redis;
  let queues: Queues;
  let waha: WahaServer;
  let locker: pg.Client;
  const processes: ServiceProcess[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    redis = createTestRedis();
    waha = await startWahaServer({ apiKey: WAHA_API_KEY });
    producer = createWorkerConnection({ url: redis.url, connectionName: 'stall-producer' });
    queues = createQueues({ connection: producer, prefix: redis.prefix });
    locker = new pg.Client({ connectionString: database.url });
    await locker.connect();
  });
  afterAll(async () => {
    await Promise.all(processes.map((child) => child.stop('SIGKILL')));
    await locker.end();
    await closeQueues(queues);
    producer.disconnect();
    await waha.stop();
    await redis.clear();
    await database.drop();
  });

  function startDispatcher(): ServiceProcess {
    const child = startServiceProcess(
      DISPATCHER_MAIN,
      testEnv(database, redis, {
        LOG_LEVEL: 'info',
        CREDENTIALS_ENCRYPTION_KEY: CHAOS_CREDENTIALS_KEY,
        DATABASE_POOL_MAX: '4',
        WORKER_LOCK_DURATION_MS: '1000',
        WORKER_STALLED_INTERVAL_MS: '300',
        WORKER_MAX_STALLED_COUNT: String(MAX_STALLED_COUNT),
        ADAPTER_TIMEOUT_MS: '2000',
        SWEEPER_INTERVAL_MS: '500',
        SWEEPER_QUEUED_AFTER_MS: '1000',
      }),
    );
    processes.push(child);
    return child;
  }

  /**
   * Backends of this test's database waiting for a row lock in a statement that updates
   * deliveries (the claim). Not asked through `locker`: inside its transaction,
   * pg_stat_activity would not change.
   */
  async function claimsWaiting(): Promise<number[]> {
    const { rows } = await sql<{ pid: number }>`
      SELECT pid FROM pg_stat_activity
       WHERE datname = current_database() AND pid <> pg_backend_pid()
         AND wait_event_type = 'Lock'
         AND (query ILIKE '%update deliveries %' OR query ILIKE '%update "deliveries"%')`.execute(
      database.db,
    );
    return rows.map((row) => row.pid);
  }

  /** Starts a dispatcher, lets it take the job and block in its claim, then SIGKILLs it. */
  async function stallOnce(deliveryId: string, stalledBefore: number): Promise<void> {
    const dispatcher = startDispatcher();
    await waitFor(async () => ((await claimsWaiting()).length === 1 ? true : undefined), 20_000);
    const job = await queues.deliveries.getJob(deliveryId);
    expect(await job?.getState()).toBe('active');
    expect(job?.stalledCounter).toBe(stalledBefore);
    expect(await dispatcher.stop('SIGKILL')).toMatchObject({ signal: 'SIGKILL' });
    // Postgres would notice the dead client only when the lock is released; end its wait now.
    for (const pid of await claimsWaiting()) {
      await sql`SELECT pg_terminate_backend(${pid})`.execute(database.db);
    }
    await waitFor(async () => ((await claimsWaiting()).length === 0 ? true : undefined), 5_000);
  }

  it('is re-driven by the sweeper and sent once, instead of staying failed', async () => {
    const db = database.db;
    const session = await seedWahaSession(db, { baseUrl: waha.url, perSecond: 100 });
    const { send, deliveries } = await createSend(db, {
      organizationId: session.organizationId,
      senderId: session.senderId,
      channel: 'whatsapp',
      origin: 'whatsapp_send',
      content: { text: 'Stalled twice', media: [] },
      recipients: [{ recipient: CHAT }],
    });
    const delivery = deliveries[0]!;

    await locker.query('BEGIN');
    await locker.query('SELECT id FROM deliveries WHERE id = $1 FOR UPDATE', [delivery.id]);
    await enqueueDeliveries(queues, [
      { delivery_id: delivery.id, organization_id: delivery.organization_id },
    ]);
    for (let stall = 0; stall <= MAX_STALLED_COUNT; stall += 1) await stallOnce(delivery.id, stall);
    await locker.query('ROLLBACK');

    const last = startDispatcher();
    const failed = await expectLog(
      last,
      'job failed: stalled more than allowable limit',
      (line) =>
        line.msg === 'job failed' &&
        line.job_id === delivery.id &&
        JSON.stringify(line.err).includes('job stalled more than allowable limit'),
    );
    const redriven = await expectLog(
      last,
      'delivery enqueued by the sweeper',
      (line) => line.msg === 'delivery enqueued by the sweeper' && line.delivery_id === delivery.id,
    );
    const sent = await expectLog(
      last,
      'delivery sent',
      (line) => line.msg === 'delivery sent' && line.delivery_id === delivery.id,
    );

    const row = await db
      .selectFrom('deliveries')
      .selectAll()
      .where('id', '=', delivery.id)
      .executeTakeFirstOrThrow();
    const events = await db
      .selectFrom('events')
      .select('type')
      .where('delivery_id', '=', delivery.id)
      .orderBy('id')
      .execute();
    const calls = callsByChat(waha.calls()).get(CHAT) ?? 0;
    printFigures('job stalled more than WORKER_MAX_STALLED_COUNT', {
      'stalls (dispatchers killed holding the job)': MAX_STALLED_COUNT + 1,
      'BullMQ failed the job': String(failed.err !== undefined),
      're-driven by the sweeper': String(redriven.delivery_id === delivery.id),
      'final status': row.status,
      attempts: row.attempts,
      'provider calls': calls,
    });

    expect(sent).toMatchObject({ attempt: 1 });
    expect(row).toMatchObject({
      send_id: send.id,
      status: 'sent',
      attempts: 1,
      possible_duplicate: false,
      error_code: null,
    });
    expect(waha.message(row.provider_message_id!)).toMatchObject({ chatId: CHAT });
    expect(calls).toBe(1);
    expect(events.map((event) => event.type)).toEqual(['delivery.sending', 'delivery.sent']);
  }, 60_000);
});
