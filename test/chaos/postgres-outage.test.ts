import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  createTestDatabase,
  createTestRedis,
  testEnv,
  type TestDatabase,
  type TestRedis,
} from '../support/harness.ts';
import { seedSandboxFixture, type SandboxFixture } from '../support/sandbox-fixture.ts';
import { startStack, type Stack } from '../support/stack.ts';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.ts';
import {
  deliveryStatusCounts,
  postSend,
  readiness,
  sandboxReceipts,
  seconds,
  sendBody,
  sendIdOf,
  startSteadyLoad,
  targetOf,
  throughProxy,
  type LoadRequest,
  type Phase,
  printFigures,
} from './outage-load.ts';

/** How long Postgres is away: 5 s in CI, 10 s in `pnpm chaos:outages`. */
const CUT_MS = Number(process.env.CHAOS_POSTGRES_CUT_MS ?? 5_000);
const LOAD_EVERY_MS = 100;
/** Far above anything the API takes (its pool gives up connecting after 5 s): a hang. */
const REQUEST_TIMEOUT_MS = 15_000;
const DRAIN_TIMEOUT_MS = 60_000;

/** The shared error shape, as a 503 must carry it. */
const unavailable = {
  error: { code: 'service_unavailable', message: expect.any(String) as unknown },
  request_id: expect.any(String) as unknown,
};

/**
 * Postgres goes away under a steady stream of sends while the dispatcher has work in hand.
 * The API answers 503 in the shared error shape (never a hang, never a 500), commits all of a
 * send or none of it, and answers a retry with the same key consistently; the dispatcher rides
 * the outage out and delivers everything once Postgres is back, with no restart.
 */
describe('a Postgres outage', () => {
  let database: TestDatabase;
  let redis: TestRedis;
  let proxy: TcpProxy;
  let stack: Stack | undefined;
  /** The steady load's organization: a fast session with two groups. */
  let fixture: SandboxFixture;
  /** A session limited to 2 messages a second, so its deliveries wait in Redis across the cut. */
  let slow: SandboxFixture;

  beforeAll(async () => {
    database = await createTestDatabase();
    redis = createTestRedis();
    proxy = await startTcpProxy(targetOf(database.url, 5432));
    stack = await startStack(
      testEnv(database, redis, {
        HOST: '127.0.0.1',
        LOG_LEVEL: 'info',
        DATABASE_URL: throughProxy(database.url, proxy.port),
        POLL_INTERVAL_MS: '250',
        SWEEPER_INTERVAL_MS: '500',
        SWEEPER_QUEUED_AFTER_MS: '1000',
        RECONCILE_INTERVAL_MS: '1000',
        ADAPTER_TIMEOUT_MS: '2000',
        WORKER_LOCK_DURATION_MS: '2000',
        WORKER_STALLED_INTERVAL_MS: '1000',
      }),
    );
    fixture = await seedSandboxFixture(database.db, { name: 'postgres-outage', groups: 2 });
    slow = await seedSandboxFixture(database.db, {
      name: 'postgres-outage-slow',
      groups: 10,
      perSecond: 2,
    });
  }, 60_000);

  afterAll(async () => {
    await Promise.all([stack?.api.stop('SIGKILL'), stack?.dispatcher.stop('SIGKILL')]);
    await proxy?.stop();
    await redis.clear();
    await database.drop();
  });

  it(
    'answers 503 while down, half-writes nothing, and delivers everything once it is back',
    async () => {
      const { url, api, dispatcher } = stack!;
      const pids = [api.child.pid, dispatcher.child.pid];
      let phase: Phase = 'before';

      const slowKey = randomUUID();
      const slowSend = await postSend(
        url,
        slow,
        sendBody(slow, slowKey, 'rate limited across the outage'),
        REQUEST_TIMEOUT_MS,
      );
      expect(slowSend).toMatchObject({ status: 202 });
      const load = startSteadyLoad({
        baseUrl: url,
        fixture,
        everyMs: LOAD_EVERY_MS,
        maxRequests: Math.ceil((CUT_MS + 10_000) / LOAD_EVERY_MS),
        requestTimeoutMs: REQUEST_TIMEOUT_MS,
        phase: () => phase,
      });
      await sleep(1_000);
      // One request caught inside its transaction when Postgres goes: it waits for its key's lock.
      const held = await holdInsideTransaction(url);

      await proxy.cut();
      phase = 'outage';
      const cutAt = Date.now();
      const heldAnswer = await held.answer;
      await held.release();
      const readyDuringOutage = await readiness(url);
      await sleep(Math.max(0, CUT_MS - (Date.now() - cutAt)));
      // Work the dispatcher still holds: the slow session's deliveries wait in Redis.
      const slowQueuedAtRestore = await deliveryStatusCounts(database.db, [
        sendIdOf(slowSend.answer),
      ]);

      phase = 'after';
      await proxy.restore();
      const restoredAt = Date.now();
      await vi.waitFor(async () => expect((await readiness(url)).status).toBe(200), {
        timeout: 30_000,
        interval: 200,
      });
      await sleep(1_000);
      const requests = await load.stop();

      // While down: 503 in the shared shape, never a 500, never a hang; /readyz names postgres.
      expect(readyDuringOutage.status).toBe(503);
      expect(readyDuringOutage.body).toMatchObject({
        error: {
          code: 'service_unavailable',
          message: expect.stringContaining('postgres') as unknown,
          details: { checks: { postgres: 'down', redis: 'ok' } },
        },
      });
      // Every request was answered (none hit REQUEST_TIMEOUT_MS), with a 202 or a 503 only.
      expect(requests.filter(({ status }) => status !== 202 && status !== 503)).toEqual([]);
      for (const request of requests.filter(({ status }) => status === 503)) {
        expect(request.answer).toMatchObject(unavailable);
      }
      const duringOutage = requests.filter((request) => request.startedIn === 'outage');
      // Started and answered while Postgres was unreachable: nothing but 503s, and some of them.
      const whileDown = duringOutage.filter((request) => request.answeredIn === 'outage');
      expect(whileDown.length).toBeGreaterThan(0);
      expect(new Set(whileDown.map(({ status }) => status))).toEqual(new Set([503]));
      expect(heldAnswer).toMatchObject({ status: 503, answer: unavailable });
      expect(api.lines.filter((line) => line.msg === 'unhandled error')).toEqual([]);

      // The slow session still had deliveries to make when Postgres returned.
      expect(slowQueuedAtRestore.sent ?? 0).toBeLessThan(slow.groupIds.length);

      // After: the same request with the same key is answered consistently, whatever came first.
      const finalSendIds = new Map<string, string>();
      for (const request of [...requests, held.request]) {
        const retried = await postSend(url, fixture, request.body, REQUEST_TIMEOUT_MS);
        expect(retried).toMatchObject({ status: 202 });
        const sendId = sendIdOf(retried.answer);
        if (request.status === 202) {
          expect(retried.answer).toMatchObject({ status: 'duplicate_accepted' });
          expect(sendId).toBe(sendIdOf(request.answer));
        }
        finalSendIds.set(request.idempotencyKey, sendId);
      }

      // Nothing half-written: one send per key, each with its deliveries, event and record.
      const sends = await database.db
        .selectFrom('sends')
        .select(['id', 'idempotency_key'])
        .where('organization_id', '=', fixture.organizationId)
        .execute();
      expect(new Map(sends.map((send) => [send.idempotency_key!, send.id]))).toEqual(finalSendIds);
      expect(sends).toHaveLength(requests.length + 1);
      await expectWhole(sends.map((send) => send.id));

      // The dispatcher resumed by itself: everything ends sent, by the same processes.
      const allSendIds = [...finalSendIds.values(), sendIdOf(slowSend.answer)];
      const expectedDeliveries = finalSendIds.size * fixture.groupIds.length + slow.groupIds.length;
      let pending: Record<string, number> = {};
      try {
        await vi.waitFor(
          async () => {
            pending = await deliveryStatusCounts(database.db, allSendIds);
            expect(pending).toEqual({ sent: expectedDeliveries });
          },
          { timeout: DRAIN_TIMEOUT_MS, interval: 200 },
        );
      } finally {
        printFigures('deliveries by status at the end:', [JSON.stringify(pending)]);
      }
      const drainMs = Date.now() - restoredAt;
      expect([api.child.pid, dispatcher.child.pid]).toEqual(pids);
      expect(api.child.exitCode).toBeNull();
      expect(dispatcher.child.exitCode).toBeNull();

      // Nothing lost, nothing doubled but what the dispatcher flagged (the `sending` window).
      const receipts = [
        ...(await sandboxReceipts(database.db, fixture.organizationId)),
        ...(await sandboxReceipts(database.db, slow.organizationId)),
      ];
      const lost = receipts.filter((receipt) => receipt.received === 0);
      const doubled = receipts.filter((receipt) => receipt.received > 1);
      expect(lost).toEqual([]);
      expect(doubled.filter((receipt) => !receipt.possibleDuplicate)).toEqual([]);

      const jobsFailed = dispatcher.lines.filter((line) => line.msg === 'job failed').length;
      const count = (status: number) => duringOutage.filter((r) => r.status === status).length;
      printFigures(
        `Postgres outage of ${seconds(CUT_MS)}, steady load every ${LOAD_EVERY_MS} ms:`,
        [
          `requests: ${requests.length} (${duringOutage.length} started during the outage,` +
            ` ${whileDown.length} of them answered before it ended:` +
            ` ${count(202)} answered 202, ${count(503)} answered 503, other: 0)`,
          `answered 503 in all: ${requests.filter((r) => r.status === 503).length};` +
            ` retried with the same key after recovery: ${finalSendIds.size}, consistent: all`,
          `slow session's deliveries when Postgres returned: ${JSON.stringify(slowQueuedAtRestore)}`,
          `deliveries: ${receipts.length}, lost: ${lost.length}, doubled: ${doubled.length}` +
            ` (flagged possible duplicates: ${receipts.filter((r) => r.possibleDuplicate).length})`,
          `dispatcher jobs failed and retried meanwhile: ${jobsFailed}; process restarts: 0`,
          `time to drain after Postgres returned: ${seconds(drainMs)}`,
        ],
      );
    },
    CUT_MS + DRAIN_TIMEOUT_MS + 60_000,
  );

  /**
   * Posts a send while the test holds its idempotency key's advisory lock (directly, not through
   * the proxy), and resolves once the API's transaction waits for that lock: the request is
   * then inside `BEGIN … ` when the connection goes. `release` ends the test's transaction.
   */
  async function holdInsideTransaction(url: string) {
    const key = `held-${randomUUID()}`;
    const lockId = `idempotency:${fixture.organizationId}:${key}`;
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const isLocked = new Promise<void>((resolve) => (locked = resolve));
    const holder = database.db.transaction().execute(async (trx) => {
      await sql`SELECT pg_advisory_xact_lock(hashtextextended(${lockId}, 0))`.execute(trx);
      locked();
      await released;
    });
    await isLocked;
    const request: LoadRequest = {
      index: -1,
      idempotencyKey: key,
      body: sendBody(fixture, key, 'caught inside its transaction'),
      startedIn: 'before',
      status: 'no answer',
      answeredIn: undefined,
      answer: undefined,
    };
    const answer = postSend(url, fixture, request.body, REQUEST_TIMEOUT_MS);
    await vi.waitFor(
      async () => {
        const waiting = await sql<{ count: number }>`
          SELECT count(*)::int AS count FROM pg_stat_activity
          WHERE application_name = 'outbound-api' AND wait_event_type = 'Lock'
            AND datname = current_database() AND query LIKE '%pg_advisory_xact_lock%'`.execute(
          database.db,
        );
        expect(waiting.rows[0]?.count).toBe(1);
      },
      { timeout: 10_000, interval: 50 },
    );
    return {
      request,
      answer,
      release: async () => {
        release();
        await holder;
      },
    };
  }

  /** Each send has one delivery per group, its `send.accepted` event and its idempotency record. */
  async function expectWhole(sendIds: readonly string[]): Promise<void> {
    const db = database.db;
    const deliveries = await db
      .selectFrom('deliveries')
      .select(['send_id', db.fn.countAll<number>().as('count')])
      .where('send_id', 'in', sendIds)
      .groupBy('send_id')
      .execute();
    expect(new Map(deliveries.map((row) => [row.send_id, Number(row.count)]))).toEqual(
      new Map(sendIds.map((id) => [id, fixture.groupIds.length])),
    );

    const accepted = await db
      .selectFrom('events')
      .select('send_id')
      .where('type', '=', 'send.accepted')
      .where('send_id', 'in', sendIds)
      .execute();
    expect(accepted.map((event) => event.send_id).sort()).toEqual([...sendIds].sort());

    const records = await db
      .selectFrom('idempotency_records')
      .select(['idempotency_key', 'response_status', 'response_body'])
      .where('organization_id', '=', fixture.organizationId)
      .execute();
    expect(records.map((record) => sendIdOf(record.response_body)).sort()).toEqual(
      [...sendIds].sort(),
    );
    expect(new Set(records.map((record) => record.response_status))).toEqual(new Set([202]));
  }
});
