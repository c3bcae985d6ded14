import { setTimeout as sleep } from 'node:timers/promises';
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
import { startWahaServer, type WahaServer } from '@outbound/fakes/waha-server';
import {
  callsByChat,
  CHAOS_CREDENTIALS_KEY,
  createWahaSend,
  deliveriesOfSends,
  DISPATCHER_MAIN,
  messagesByChat,
  printFigures,
  killMidFlight,
  seedWahaSession,
  unfinishedCount,
  WAHA_API_KEY,
  waitFor,
} from './waha-chaos-fixtures.ts';

/** `CHAOS_SIZE=full` (`pnpm test:chaos`) runs the full size; the suite runs the CI size. */
const FULL = process.env.CHAOS_SIZE === 'full';
const DELIVERIES = FULL ? 10_000 : 2_000;
const SENDS = FULL ? 200 : 40;
const PER_SEND = DELIVERIES / SENDS;
const DISPATCHERS = 3;
const KILL_EVERY_MS = 2_000;
/** Bounds the chaos loop whatever happens: at most this many kills. */
const MAX_KILLS = FULL ? 150 : 25;
/** One recipient in this many is refused by the provider for good (a 400). */
const REFUSED_EVERY = 97;
/**
 * The session's rate limit spreads the batch over at least this long, so that however fast the
 * machine there are kills while it is under way (a slow machine takes longer anyway).
 */
const AT_LEAST_S = 15;
/** Every provider call takes this long, so that kills catch calls in flight. */
const PROVIDER_LATENCY_MS = 20;

const ADAPTER_TIMEOUT_MS = 3_000;
const LOCK_MS = 1_000;

describe('dispatchers SIGKILLed every 2 s while delivering', () => {
  let database: TestDatabase;
  let redis: TestRedis;
  let producer: Redis;
  let queues: Queues;
  let waha: WahaServer;
  const processes: ServiceProcess[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    redis = createTestRedis();
    waha = await startWahaServer({ apiKey: WAHA_API_KEY });
    producer = createWorkerConnection({ url: redis.url, connectionName: 'chaos-producer' });
    queues = createQueues({ connection: producer, prefix: redis.prefix });
  });
  afterAll(async () => {
    await Promise.all(processes.map((child) => child.stop('SIGKILL')));
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
        DATABASE_POOL_MAX: '8',
        WORKER_LOCK_DURATION_MS: String(LOCK_MS),
        WORKER_STALLED_INTERVAL_MS: '500',
        WORKER_MAX_STALLED_COUNT: '1',
        ADAPTER_TIMEOUT_MS: String(ADAPTER_TIMEOUT_MS),
        DELIVERY_BACKOFF_MS: '200',
        SWEEPER_INTERVAL_MS: '1000',
        SWEEPER_QUEUED_AFTER_MS: '10000',
      }),
    );
    processes.push(child);
    return child;
  }

  it(
    'loses no delivery; calls beyond one per delivery only for deliveries in flight at a kill, each flagged',
    async () => {
      const db = database.db;
      const session = await seedWahaSession(db, {
        baseUrl: waha.url,
        perSecond: Math.ceil(DELIVERIES / AT_LEAST_S),
      });
      const chat = (send: number, recipient: number) => `chaos-${send}-${recipient}@g.us`;
      const refused = new Set<string>();
      for (let s = 0; s < SENDS; s += 1) {
        for (let r = 0; r < PER_SEND; r += 1) {
          if ((s * PER_SEND + r) % REFUSED_EVERY === REFUSED_EVERY - 1) refused.add(chat(s, r));
        }
      }
      for (const chatId of refused) {
        waha.inject(
          { type: 'status', status: 400, message: 'Chat not found' },
          { chatId, times: Infinity },
        );
      }
      // Staged after the refusals, so it applies to every other call.
      waha.inject({ type: 'delay', ms: PROVIDER_LATENCY_MS }, { times: Infinity });

      const running: ServiceProcess[] = [];
      for (let i = 0; i < DISPATCHERS; i += 1) running.push(startDispatcher());
      await Promise.all(
        running.map((child) => child.waitForLog((l) => l.msg === 'dispatcher ready')),
      );

      const sendIds: string[] = [];
      for (let s = 0; s < SENDS; s += 1) {
        const chats = Array.from({ length: PER_SEND }, (_, r) => chat(s, r));
        sendIds.push((await createWahaSend(db, queues, session, chats)).send.id);
      }

      // Kill one dispatcher every 2 s, in turn, and start a new one in its place at once.
      const inFlight = new Set<string>();
      let kills = 0;
      while (kills < MAX_KILLS && (await unfinishedCount(db, sendIds)) > 0) {
        await sleep(KILL_EVERY_MS);
        const slot = kills % DISPATCHERS;
        for (const claim of await killMidFlight(running[slot]!)) inFlight.add(claim);
        kills += 1;
        running[slot] = startDispatcher();
      }
      // Enough time for the sweeper to find what the last kill left in `sending`.
      await waitFor(
        async () => ((await unfinishedCount(db, sendIds)) === 0 ? true : undefined),
        ADAPTER_TIMEOUT_MS + LOCK_MS + 30_000,
        200,
      ).catch(() => undefined);

      const deliveries = await deliveriesOfSends(db, sendIds);
      const calls = callsByChat(waha.calls());
      const messages = messagesByChat(waha.messages());
      const claimsInFlight = new Map<string, number>();
      for (const claim of inFlight) {
        const id = claim.split('/')[0]!;
        claimsInFlight.set(id, (claimsInFlight.get(id) ?? 0) + 1);
      }
      const callsOf = (d: Delivery) => calls.get(d.recipient) ?? 0;
      /** What every dispatcher logged about a delivery, to tell why a check failed. */
      const linesAbout = (id: string) =>
        processes.flatMap((child, index) =>
          child.lines
            .filter((line) => line.delivery_id === id || line.job_id === id)
            .map((line) => `#${index} ${String(line.time)} ${line.msg} ${String(line.attempt)}`),
        );

      const unfinished = deliveries.filter((d) => d.status === 'queued' || d.status === 'sending');
      const sentWithoutMessage = deliveries.filter(
        (d) =>
          d.status === 'sent' &&
          !(messages.get(d.recipient) ?? []).includes(d.provider_message_id ?? ''),
      );
      // Failed for the provider's reason: exactly the refused chats, with WAHA's words.
      const refusedByProvider = deliveries.filter(
        (d) =>
          d.status === 'failed' &&
          refused.has(d.recipient) &&
          d.error_code === 'rejected_by_provider' &&
          (d.error_message ?? '').includes('Chat not found'),
      );
      // Every other failure is ours, not the provider's: `stuck_in_sending`, `retries_exhausted`
      // of a kill-caused retry loop, anything. A crash may delay a delivery, never fail it (the
      // sweeper re-drives a stuck delivery each time, flagged, while it has attempts left).
      const failedByUs = deliveries.filter(
        (d) => d.status === 'failed' && !refusedByProvider.includes(d),
      );
      const otherwise = deliveries.filter(
        (d) =>
          d.status !== 'sent' &&
          !refusedByProvider.includes(d) &&
          !failedByUs.includes(d) &&
          !unfinished.includes(d),
      );
      const logLines = processes.flatMap((child) => child.lines);
      const resets = logLines.filter(
        (line) => line.msg === 'delivery stuck in sending; queued again as a possible duplicate',
      );
      const resetsPerDelivery = new Map<string, number>();
      for (const line of resets) {
        const id = String(line.delivery_id);
        resetsPerDelivery.set(id, (resetsPerDelivery.get(id) ?? 0) + 1);
      }
      // Jobs BullMQ gave up on after they stalled more than WORKER_MAX_STALLED_COUNT times; the
      // sweeper must have re-driven their deliveries (none is left unfinished).
      const stalledOut = new Set(
        logLines
          .filter(
            (line) =>
              line.msg === 'job failed' &&
              JSON.stringify(line.err).includes('job stalled more than allowable limit'),
          )
          .map((line) => String(line.job_id)),
      );
      // A claim the sweeper took back from a dispatcher that was still alive: its outcome then
      // finds the row changed and is not recorded. Only dead dispatchers' claims should be.
      const overtaken = logLines.filter(
        (line) => line.msg === 'delivery was sent but changed meanwhile; outcome not recorded',
      );
      // Attempts that timed out, or lost their connection, after the call went out (the machine
      // under load can be slower than the adapter timeout): retried, flagged, and so may call twice.
      const uncertainRetries = new Map<string, number>();
      for (const line of logLines) {
        if (line.msg !== 'delivery queued for a retry' || line.possible_duplicate !== true)
          continue;
        const id = String(line.delivery_id);
        uncertainRetries.set(id, (uncertainRetries.get(id) ?? 0) + 1);
      }
      const extraCallsAllowed = (d: Delivery) =>
        (claimsInFlight.get(d.id) ?? 0) + (uncertainRetries.get(d.id) ?? 0);
      const duplicateCalls = deliveries.reduce((sum, d) => sum + Math.max(0, callsOf(d) - 1), 0);
      const repeated = deliveries.filter((d) => callsOf(d) > 1);

      printFigures(`dispatcher crash chaos (${FULL ? 'full' : 'CI'} size)`, {
        deliveries: deliveries.length,
        sends: sendIds.length,
        dispatchers: DISPATCHERS,
        kills,
        'claims in flight in the killed dispatchers': inFlight.size,
        'attempts retried after a timeout or dropped connection': [
          ...uncertainRetries.values(),
        ].reduce((sum, n) => sum + n, 0),
        sent: deliveries.filter((d) => d.status === 'sent').length,
        'failed, refused by the provider (400)': refusedByProvider.length,
        'failed for a reason of ours (must be 0)': failedByUs.length,
        lost: unfinished.length + sentWithoutMessage.length + otherwise.length + failedByUs.length,
        'stuck deliveries re-driven by the sweeper': resets.length,
        'deliveries re-driven more than once': [...resetsPerDelivery.values()].filter((n) => n > 1)
          .length,
        'jobs failed by BullMQ for stalling too often': stalledOut.size,
        'claims of a live dispatcher reset by the sweeper': overtaken.length,
        'provider calls': [...calls.values()].reduce((sum, n) => sum + n, 0),
        'duplicate calls (beyond one per delivery)': duplicateCalls,
        'deliveries called more than once': repeated.length,
        'flagged possible_duplicate': deliveries.filter((d) => d.possible_duplicate).length,
      });

      expect(deliveries).toHaveLength(DELIVERIES);
      expect(kills).toBeGreaterThanOrEqual(3);
      // Nothing lost.
      expect(unfinished.map((d) => [d.id, d.status, ...linesAbout(d.id)])).toEqual([]);
      expect(sentWithoutMessage.map((d) => d.id)).toEqual([]);
      expect(otherwise.map((d) => [d.id, d.status, d.error_code, ...linesAbout(d.id)])).toEqual([]);
      // Failed only for the provider's reason.
      expect(
        failedByUs.map((d) => [d.id, d.error_code, d.error_message, ...linesAbout(d.id)]),
      ).toEqual([]);
      expect(
        [...refused].filter((chatId) => !refusedByProvider.some((d) => d.recipient === chatId)),
      ).toEqual([]);
      // Nothing doubled but what a kill caught in flight (one extra call at most per claim the
      // killed dispatcher left without an outcome) or an attempt whose outcome was unknown, and
      // that is flagged.
      expect(
        repeated
          .filter((d) => callsOf(d) - 1 > extraCallsAllowed(d))
          .map((d) => [d.id, callsOf(d), ...linesAbout(d.id)]),
      ).toEqual([]);
      expect(duplicateCalls).toBeLessThanOrEqual(
        deliveries.reduce((sum, d) => sum + extraCallsAllowed(d), 0),
      );
      expect(repeated.filter((d) => !d.possible_duplicate).map((d) => d.id)).toEqual([]);
    },
    FULL ? 600_000 : 180_000,
  );
});
