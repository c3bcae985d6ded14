import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nextSlotAfter } from '@outbound/queue';
import { createScheduleRunner, type ScheduleRunner } from './run-schedule.job.ts';
import {
  jobSchedulerOf,
  occurrenceSends,
  openScheduleTestContext,
  scheduleRow,
  seedSchedule,
  setScheduleTimes,
  upsertSchedulerOf,
  type ScheduleTestContext,
} from './test-support/schedules.ts';

const MINUTE = 60_000;
const INTERVAL = 10 * MINUTE;

let ctx: ScheduleTestContext;
let runner: ScheduleRunner;

beforeAll(async () => {
  ctx = await openScheduleTestContext();
  runner = createScheduleRunner({ db: ctx.db, queues: ctx.queues, logger: ctx.logger });
});
afterAll(async () => {
  await ctx?.close();
});

const eventTypes = async (scheduleId: string) =>
  (
    await ctx.db
      .selectFrom('events')
      .select('type')
      .where('schedule_id', '=', scheduleId)
      .orderBy('id')
      .execute()
  ).map((event) => event.type);

describe('missed firings', () => {
  it('fires once for five missed slots, then moves to the first future slot on the grid', async () => {
    // Every dispatcher was down for five intervals and then some.
    const first = new Date(Date.now() - 5 * INTERVAL - 30_000);
    const seeded = await seedSchedule(ctx.db, {
      firstRunAt: first,
      intervalMs: INTERVAL,
      maxOccurrences: 3,
    });
    const now = new Date();

    const fired = await runner.run(seeded.ref, now);
    const expectedNext = nextSlotAfter(first.getTime(), INTERVAL, now.getTime());
    expect(expectedNext).toBe(first.getTime() + 6 * INTERVAL);
    expect(fired).toMatchObject({ occurrence: 1, completed: false });
    expect(fired?.nextRunAt?.getTime()).toBe(expectedNext);

    const sends = await occurrenceSends(ctx.db, seeded.schedule.id);
    expect(sends.map((send) => [send.occurrence, send.planned_at])).toEqual([[1, first]]);
    // Missed slots are skipped, not counted: the schedule is far from its three occurrences.
    expect(await scheduleRow(ctx.db, seeded.schedule.id)).toMatchObject({
      status: 'active',
      occurrences_made: 1,
      next_run_at: new Date(expectedNext),
    });

    // Every later trigger for what was missed finds nothing due.
    expect(await runner.run(seeded.ref)).toBeUndefined();
    expect(await runner.dueSource.claimDue({ limit: 100, now: new Date() })).toMatchObject({
      claimed: 0,
      deliveries: [],
    });
    expect(await occurrenceSends(ctx.db, seeded.schedule.id)).toHaveLength(1);
  });

  it('catches up from a later occurrence the same way', async () => {
    const first = new Date(Date.now() - 8 * INTERVAL - 1_000);
    const seeded = await seedSchedule(ctx.db, {
      firstRunAt: first,
      intervalMs: INTERVAL,
      maxOccurrences: 5,
    });
    // Occurrences 1 and 2 were made on time; slots 2 to 8 were missed.
    await setScheduleTimes(ctx.db, seeded.schedule.id, {
      nextRunAt: new Date(first.getTime() + 2 * INTERVAL),
      occurrencesMade: 2,
    });

    const fired = await runner.run(seeded.ref);
    expect(fired).toMatchObject({
      occurrence: 3,
      nextRunAt: new Date(first.getTime() + 9 * INTERVAL),
    });
    const [send] = await occurrenceSends(ctx.db, seeded.schedule.id);
    expect(send).toMatchObject({
      occurrence: 3,
      planned_at: new Date(first.getTime() + 2 * INTERVAL),
    });
  });
});

describe('completion', () => {
  it('completes after max_occurrences and removes its job scheduler', async () => {
    const first = new Date(Date.now() - 1_000);
    const seeded = await seedSchedule(ctx.db, {
      firstRunAt: first,
      intervalMs: INTERVAL,
      maxOccurrences: 3,
      groups: 2,
    });
    await upsertSchedulerOf(ctx.queues, seeded.schedule);

    // Each slot's job, run at that slot.
    const slots = [0, 1, 2].map((k) => new Date(first.getTime() + k * INTERVAL));
    const fired = [];
    for (const slot of slots) {
      const at = new Date(Math.max(slot.getTime(), Date.now()));
      fired.push(await runner.run(seeded.ref, at));
      if (slot !== slots.at(-1)) {
        expect(await jobSchedulerOf(ctx.queues, seeded.schedule.id)).toBeDefined();
      }
    }
    expect(fired.map((f) => [f?.occurrence, f?.completed, f?.nextRunAt])).toEqual([
      [1, false, slots[1]],
      [2, false, slots[2]],
      [3, true, null],
    ]);

    expect(await scheduleRow(ctx.db, seeded.schedule.id)).toMatchObject({
      status: 'completed',
      occurrences_made: 3,
      next_run_at: null,
    });
    expect(await jobSchedulerOf(ctx.queues, seeded.schedule.id)).toBeUndefined();
    const sends = await occurrenceSends(ctx.db, seeded.schedule.id);
    expect(sends.map((send) => [send.occurrence, send.planned_at])).toEqual(
      slots.map((slot, i) => [i + 1, slot]),
    );
    expect(await eventTypes(seeded.schedule.id)).toEqual([
      'schedule.created',
      'schedule.completed',
    ]);

    // A stray job after completion makes nothing.
    expect(await runner.run(seeded.ref, new Date(first.getTime() + 5 * INTERVAL))).toBeUndefined();
    expect(await occurrenceSends(ctx.db, seeded.schedule.id)).toHaveLength(3);
  });

  it('completes a one-shot at its only occurrence', async () => {
    const at = new Date(Date.now() - 1_000);
    const seeded = await seedSchedule(ctx.db, { firstRunAt: at, intervalMs: null });
    await upsertSchedulerOf(ctx.queues, seeded.schedule);
    expect(await jobSchedulerOf(ctx.queues, seeded.schedule.id)).toMatchObject({ limit: 1 });

    const fired = await runner.run(seeded.ref);
    expect(fired).toMatchObject({ occurrence: 1, completed: true, nextRunAt: null });
    expect(await scheduleRow(ctx.db, seeded.schedule.id)).toMatchObject({
      status: 'completed',
      occurrences_made: 1,
      next_run_at: null,
    });
    expect(await jobSchedulerOf(ctx.queues, seeded.schedule.id)).toBeUndefined();
    expect((await occurrenceSends(ctx.db, seeded.schedule.id)).map((s) => s.planned_at)).toEqual([
      at,
    ]);
  });

  it('completes a schedule due through the poller too, removing its job scheduler', async () => {
    const seeded = await seedSchedule(ctx.db, {
      firstRunAt: new Date(Date.now() - 3 * INTERVAL),
      intervalMs: INTERVAL,
      maxOccurrences: 1,
    });
    await upsertSchedulerOf(ctx.queues, seeded.schedule);
    const batch = await runner.dueSource.claimDue({ limit: 100, now: new Date() });
    expect(batch.claimed).toBe(1);
    expect(batch.deliveries).toHaveLength(1);
    // Removing the job scheduler is the follow-up after commit.
    expect(await jobSchedulerOf(ctx.queues, seeded.schedule.id)).toBeDefined();
    await batch.afterCommit?.();
    expect(await jobSchedulerOf(ctx.queues, seeded.schedule.id)).toBeUndefined();
    expect((await scheduleRow(ctx.db, seeded.schedule.id)).status).toBe('completed');
  });
});
