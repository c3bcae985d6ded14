import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  closeQueues,
  createProducerConnection,
  createQueues,
  enqueueDeliveries,
} from '@outbound/queue';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createEmailAccount } from '../support/email-drafts-api.ts';
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
  sendIdOf,
  startSteadyLoad,
  targetOf,
  throughProxy,
  type Phase,
  printFigures,
} from './outage-load.ts';

/** How long Redis is away: 5 s in CI, 15 s in `pnpm chaos:outages`. */
const CUT_MS = Number(process.env.CHAOS_REDIS_CUT_MS ?? 5_000);
const LOAD_EVERY_MS = 100;
/** Far above anything a healthy API takes: a request still unanswered then counts as a hang. */
const REQUEST_TIMEOUT_MS = 10_000;
/** The bound on waiting for the system to catch up after Redis returns. */
const DRAIN_TIMEOUT_MS = 60_000;

interface ScheduleRow {
  id: string;
  status: string;
  occurrences_made: number;
  max_occurrences: number;
}

/**
 * Redis goes away under a steady stream of requests, and comes back empty (every key of the
 * test's prefix deleted, as a Redis restarted without its data would be). Postgres is the
 * truth: the API keeps accepting writes, and once Redis is back the sweeper, the reconciler and
 * the due poller rebuild the lost work, so every accepted message is delivered exactly once.
 */
describe('a Redis outage', () => {
  let database: TestDatabase;
  let redis: TestRedis;
  let proxy: TcpProxy;
  let stack: Stack | undefined;
  let fixture: SandboxFixture;
  let emailAccountId: string;
  let probe: Awaited<ReturnType<typeof openProducerProbe>> | undefined;

  beforeAll(async () => {
    database = await createTestDatabase();
    redis = createTestRedis();
    proxy = await startTcpProxy(targetOf(redis.url, 6379));
    stack = await startStack(
      testEnv(database, redis, {
        HOST: '127.0.0.1',
        LOG_LEVEL: 'info',
        REDIS_URL: throughProxy(redis.url, proxy.port),
        POLL_INTERVAL_MS: '250',
        SWEEPER_INTERVAL_MS: '500',
        SWEEPER_QUEUED_AFTER_MS: '1000',
        RECONCILE_INTERVAL_MS: '1000',
        DELIVERY_BACKOFF_MS: '200',
      }),
    );
    fixture = await seedSandboxFixture(database.db, { name: 'redis-outage', groups: 2 });
    emailAccountId = await createEmailAccount(database.db, fixture, {
      provider: 'sandbox',
      address: 'outage@sandbox.example',
    });
  }, 60_000);

  afterAll(async () => {
    await Promise.all([stack?.api.stop('SIGKILL'), stack?.dispatcher.stop('SIGKILL')]);
    await probe?.close();
    await proxy?.stop();
    await redis.clear();
    await database.drop();
  });

  it(
    'keeps accepting writes, reports the outage, and delivers every accepted message once',
    async () => {
      const { url } = stack!;
      let phase: Phase = 'before';

      // A repeating schedule whose job scheduler Redis will lose, firing before the outage.
      const repeating = await schedule(url, {
        first_run_at_ms: Date.now() + 300,
        interval_ms: 1_500,
        max_occurrences: 4,
      });
      const load = startSteadyLoad({
        baseUrl: url,
        fixture,
        everyMs: LOAD_EVERY_MS,
        maxRequests: Math.ceil((CUT_MS + 10_000) / LOAD_EVERY_MS),
        requestTimeoutMs: REQUEST_TIMEOUT_MS,
        phase: () => phase,
      });
      await vi.waitFor(
        async () => expect((await scheduleRow(repeating)).occurrences_made).toBeGreaterThan(0),
        { timeout: 10_000, interval: 100 },
      );
      probe = await openProducerProbe();

      // Redis goes away, and will come back empty.
      await proxy.cut();
      phase = 'outage';
      const cutAt = Date.now();
      await redis.clear();

      // Not awaited: it must settle while Redis is still down, which is checked after restore.
      const probeOutcome = probe.enqueue();
      const readyDuringOutage = await readiness(url);
      // Planned during the outage: a schedule and an email draft due before Redis returns.
      const lateSchedule = await schedule(url, {
        first_run_at_ms: Date.now() + 500,
        interval_ms: 1_000,
        max_occurrences: 2,
      });
      const draft = await createEmailDraft(url, new Date(Date.now() + 500));
      await sleep(Math.max(0, CUT_MS - (Date.now() - cutAt)));

      phase = 'after';
      await proxy.restore();
      const restoredAt = Date.now();
      await vi.waitFor(async () => expect((await readiness(url)).status).toBe(200), {
        timeout: 30_000,
        interval: 200,
      });
      await sleep(1_000);
      const requests = await load.stop();

      // Every request was answered, and every one accepted: Postgres was there throughout.
      expect(requests.filter((request) => request.status !== 202)).toEqual([]);
      const duringOutage = requests.filter((request) => request.startedIn === 'outage');
      const answeredWhileDown = duringOutage.filter((request) => request.answeredIn === 'outage');
      expect(answeredWhileDown.length).toBeGreaterThan(0);
      expect(await probeOutcome).toBe('rejected while Redis was down');

      expect(readyDuringOutage.status).toBe(503);
      expect(readyDuringOutage.body).toMatchObject({
        error: {
          code: 'service_unavailable',
          message: expect.stringContaining('redis') as unknown,
          details: { checks: { postgres: 'ok', redis: 'down' } },
        },
      });

      // Nothing lost: every accepted send, both schedules and the draft go out after Redis returns.
      const sendIds = requests.map((request) => sendIdOf(request.answer));
      let pending: Record<string, number> = {};
      try {
        await vi.waitFor(
          async () => {
            pending = await deliveryStatusCounts(database.db, sendIds);
            expect(pending).toEqual({ sent: sendIds.length * fixture.groupIds.length });
            for (const id of [repeating, lateSchedule]) {
              const row = await scheduleRow(id);
              expect(row).toMatchObject({ status: 'completed' });
            }
            expect(await draftStatus(draft)).toBe('sent');
          },
          { timeout: DRAIN_TIMEOUT_MS, interval: 200 },
        );
      } finally {
        printFigures('deliveries of accepted sends by status at the end:', [
          JSON.stringify(pending),
        ]);
      }
      const drainMs = Date.now() - restoredAt;

      for (const id of [repeating, lateSchedule]) {
        const row = await scheduleRow(id);
        expect(row.occurrences_made).toBe(row.max_occurrences);
        const scheduleSends = await database.db
          .selectFrom('sends')
          .select('id')
          .where('schedule_id', '=', id)
          .execute();
        expect(scheduleSends).toHaveLength(row.max_occurrences);
        expect(
          await deliveryStatusCounts(
            database.db,
            scheduleSends.map((send) => send.id),
          ),
        ).toEqual({ sent: row.max_occurrences * fixture.groupIds.length });
      }

      // Nothing doubled: the sandbox received every delivery of the organization exactly once.
      const receipts = await sandboxReceipts(database.db, fixture.organizationId);
      const lost = receipts.filter((receipt) => receipt.received === 0);
      const doubled = receipts.filter((receipt) => receipt.received > 1);
      expect(lost).toEqual([]);
      expect(doubled).toEqual([]);
      expect(receipts.filter((receipt) => receipt.possibleDuplicate)).toEqual([]);

      // Neither process gave up: the same two processes did all of it.
      expect(stack!.api.child.exitCode).toBeNull();
      expect(stack!.dispatcher.child.exitCode).toBeNull();

      printFigures(
        `Redis outage of ${seconds(CUT_MS)} (restarted empty), steady load every ${LOAD_EVERY_MS} ms:`,
        [
          `requests: ${requests.length} (${duringOutage.length} started during the outage)`,
          `answered 202 during the outage: ${duringOutage.filter((r) => r.status === 202).length}` +
            ` (${answeredWhileDown.length} answered while Redis was down), not 202: 0`,
          `deliveries: ${receipts.length}, lost: ${lost.length}, doubled: ${doubled.length}`,
          `time to drain after Redis returned: ${seconds(drainMs)}`,
        ],
      );
    },
    CUT_MS + DRAIN_TIMEOUT_MS + 40_000,
  );

  async function schedule(
    url: string,
    timing: { first_run_at_ms: number; interval_ms: number; max_occurrences: number },
  ): Promise<string> {
    const key = randomUUID();
    const { status, answer } = await postSend(
      url,
      fixture,
      {
        session_id: fixture.sessionId,
        group_ids: fixture.groupIds,
        idempotency_key: key,
        text: `schedule ${key}`,
        schedule: timing,
      },
      REQUEST_TIMEOUT_MS,
    );
    expect({ status, answer }).toMatchObject({ status: 202 });
    return (answer as { schedule: { schedule_id: string } }).schedule.schedule_id;
  }

  async function createEmailDraft(url: string, plannedSendAt: Date): Promise<string> {
    const response = await fetch(`${url}/api/email/drafts`, {
      method: 'POST',
      headers: fixture.headers,
      body: JSON.stringify({
        from_account_id: emailAccountId,
        to: ['customer@example.net'],
        subject: 'Planned while Redis was down',
        body_text: 'Still delivered.',
        planned_send_at: plannedSendAt.toISOString(),
      }),
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    const body = (await response.json()) as { uid: string };
    expect({ status: response.status, body }).toMatchObject({ status: 201 });
    return body.uid;
  }

  /** The draft's status as the API reports it (it follows the draft's delivery). */
  async function draftStatus(uid: string): Promise<string> {
    const response = await fetch(`${stack!.url}/api/email/drafts/${uid}`, {
      headers: fixture.headers,
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    return ((await response.json()) as { status: string }).status;
  }

  async function scheduleRow(id: string): Promise<ScheduleRow> {
    return database.db
      .selectFrom('schedules')
      .select(['id', 'status', 'occurrences_made', 'max_occurrences'])
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
  }

  /**
   * A producer connection made as the API makes its own (connected while Redis is up), whose
   * `enqueue` tells whether an enqueue settled while Redis was cut: with no offline queue it
   * fails at once instead of waiting for Redis to return.
   */
  async function openProducerProbe() {
    const connection = createProducerConnection({
      url: throughProxy(redis.url, proxy.port),
      connectionName: 'redis-outage-probe',
    });
    connection.on('error', () => {});
    const queues = createQueues({ connection, prefix: `${redis.prefix}:probe` });
    for (const queue of Object.values(queues)) queue.on('error', () => {});
    await queues.deliveries.waitUntilReady();
    return {
      enqueue: () =>
        enqueueDeliveries(queues, [
          { delivery_id: randomUUID(), organization_id: fixture.organizationId },
        ]).then(
          () => (proxy.isCut ? 'accepted while Redis was down' : 'accepted after Redis returned'),
          () => (proxy.isCut ? 'rejected while Redis was down' : 'rejected after Redis returned'),
        ),
      close: async () => {
        await closeQueues(queues).catch(() => {});
        connection.disconnect();
      },
    };
  }
});
