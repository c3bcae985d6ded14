import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger, loadConfig } from '@outbound/config';
import { createDb } from '@outbound/db';
import { createWorkerConnection, nextSlotAfter, POLL_DUE_SCHEDULER_ID } from '@outbound/queue';
import { testEnv } from '@outbound/test/harness';
import { createDispatcher, type Dispatcher } from './dispatcher.ts';
import type { JobHandlers } from './job-handlers.ts';
import {
  captureLogs,
  sandboxCounts,
  testCipher,
  waitFor,
  waitUntilFinished,
} from './test-support/fixtures.ts';
import {
  jobSchedulerOf,
  occurrenceSends,
  openScheduleTestContext,
  scheduleRow,
  seedSchedule,
  upsertSchedulerOf,
  type ScheduleTestContext,
} from './test-support/schedules.ts';

let ctx: ScheduleTestContext;

beforeAll(async () => {
  ctx = await openScheduleTestContext();
});
afterAll(async () => {
  await ctx?.close();
});

/** A dispatcher as production builds it, on this file's database and Redis prefix. */
function dispatcherWith(
  overrides: Record<string, string>,
  handlers: Partial<JobHandlers> = {},
): Dispatcher {
  const config = loadConfig(
    testEnv(ctx.database, ctx.redis, {
      LOG_LEVEL: 'info',
      DISPATCHER_CONCURRENCY: '4',
      SWEEPER_INTERVAL_MS: '3600000',
      RECONCILE_INTERVAL_MS: '3600000',
      ...overrides,
    }),
  );
  return createDispatcher({
    config,
    logger: createLogger(config, { name: 'dispatcher', destination: captureLogs().destination }),
    db: createDb({ connectionString: ctx.database.url, poolMax: 4 }),
    connection: createWorkerConnection({ url: ctx.redis.url }),
    cipher: testCipher,
    handlers,
  });
}

describe('schedules in a running dispatcher', () => {
  it("fires every occurrence from the schedule's own job scheduler, then removes it", async () => {
    const interval = 700;
    const seeded = await seedSchedule(ctx.db, {
      firstRunAt: new Date(Date.now() + 500),
      intervalMs: interval,
      maxOccurrences: 3,
      groups: 2,
    });
    await upsertSchedulerOf(ctx.queues, seeded.schedule);
    // The poller is switched off: only run-schedule jobs can fire the schedule.
    const dispatcher = dispatcherWith({ POLL_INTERVAL_MS: '3600000' }, { pollDue: async () => {} });
    try {
      await dispatcher.start();
      await waitFor(async () =>
        (await scheduleRow(ctx.db, seeded.schedule.id)).status === 'completed' ? true : undefined,
      );

      const sends = await occurrenceSends(ctx.db, seeded.schedule.id);
      expect(sends.map((send) => send.occurrence)).toEqual([1, 2, 3]);
      const first = seeded.schedule.first_run_at.getTime();
      const offsets = sends.map((send) => send.planned_at.getTime() - first);
      // On the grid, in order (a late job skips slots rather than making them up).
      expect(offsets.every((offset) => offset % interval === 0)).toBe(true);
      expect([...offsets].sort((a, b) => a - b)).toEqual(offsets);
      expect(new Set(offsets).size).toBe(3);
      expect(offsets[0]).toBe(0);

      const deliveries = await waitUntilFinished(
        ctx.db,
        sends.map((send) => send.id),
      );
      expect(deliveries).toHaveLength(6);
      expect(deliveries.every((delivery) => delivery.status === 'sent')).toBe(true);
      const counts = await sandboxCounts(
        ctx.db,
        deliveries.map((delivery) => delivery.id),
      );
      expect([...counts.values()]).toEqual([1, 1, 1, 1, 1, 1]);
      await waitFor(async () =>
        (await jobSchedulerOf(ctx.queues, seeded.schedule.id)) === undefined ? true : undefined,
      );
    } finally {
      await dispatcher.close();
    }
  });

  it('after an hour with no dispatcher and no Redis keys, fires a missed schedule once', async () => {
    const interval = 10 * 60_000;
    const first = new Date(Date.now() - 6 * interval - 5_000);
    const seeded = await seedSchedule(ctx.db, {
      firstRunAt: first,
      intervalMs: interval,
      maxOccurrences: 5,
    });
    await ctx.redis.clear();
    const dispatcher = dispatcherWith({ POLL_INTERVAL_MS: '200' });
    try {
      const started = Date.now();
      await dispatcher.start();
      const [send] = await waitFor(async () => {
        const sends = await occurrenceSends(ctx.db, seeded.schedule.id);
        return sends.length > 0 ? sends : undefined;
      });
      expect(send).toMatchObject({ occurrence: 1, planned_at: first });
      const [delivery] = await waitUntilFinished(ctx.db, [send!.id]);
      expect(delivery?.status).toBe('sent');

      // Several polls later, still that one occurrence.
      const polls = (await ctx.queues.scheduler.getJobScheduler(POLL_DUE_SCHEDULER_ID))
        ?.iterationCount;
      await waitFor(async () => {
        const now = (await ctx.queues.scheduler.getJobScheduler(POLL_DUE_SCHEDULER_ID))
          ?.iterationCount;
        return now !== undefined && polls !== undefined && now >= polls + 3 ? true : undefined;
      });
      expect(await occurrenceSends(ctx.db, seeded.schedule.id)).toHaveLength(1);

      const row = await scheduleRow(ctx.db, seeded.schedule.id);
      const next = row.next_run_at!.getTime();
      expect(row).toMatchObject({ status: 'active', occurrences_made: 1 });
      expect(next).toBeGreaterThanOrEqual(nextSlotAfter(first.getTime(), interval, started));
      expect(next).toBeLessThanOrEqual(nextSlotAfter(first.getTime(), interval, Date.now()));
      // The reconcile at start gave it a job scheduler again, on the same slot.
      expect((await jobSchedulerOf(ctx.queues, seeded.schedule.id))?.next).toBe(next);
    } finally {
      await dispatcher.close();
    }
  });
  it('reconciles periodically: a Redis flushed while it runs heals itself', async () => {
    const seeded = await seedSchedule(ctx.db, {
      firstRunAt: new Date(Date.now() + 3_600_000),
      intervalMs: 3_600_000,
    });
    const dispatcher = dispatcherWith({
      POLL_INTERVAL_MS: '3600000',
      RECONCILE_INTERVAL_MS: '200',
    });
    try {
      await dispatcher.start();
      // The reconcile at start made its job scheduler (the API's upsert never happened).
      expect((await jobSchedulerOf(ctx.queues, seeded.schedule.id))?.next).toBe(
        seeded.schedule.first_run_at.getTime(),
      );
      // Every key under the prefix deleted, as a FLUSHALL would (the next reconcile may already
      // be running, so what is left right after is not asserted).
      await ctx.redis.clear();

      const healed = await waitFor(async () => {
        const found = await jobSchedulerOf(ctx.queues, seeded.schedule.id);
        const poll = await ctx.queues.scheduler.getJobScheduler(POLL_DUE_SCHEDULER_ID);
        return found !== undefined && poll !== undefined ? found : undefined;
      });
      expect(healed.next).toBe(seeded.schedule.first_run_at.getTime());
    } finally {
      await dispatcher.close();
    }
  });
});
