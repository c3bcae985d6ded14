import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cancelSchedule, type Schedule } from '@outbound/db';
import {
  listScheduleJobSchedulers,
  nextSlotAfter,
  POLL_DUE_SCHEDULER_ID,
  scheduleWorkflowId,
  SWEEPER_SCHEDULER_ID,
  upsertScheduleJobScheduler,
} from '@outbound/queue';
import { createScheduleReconciler, type ScheduleReconciler } from './schedule-reconciler.ts';
import {
  jobSchedulerOf,
  openScheduleTestContext,
  scheduleRow,
  seedSchedule,
  timingOf,
  upsertSchedulerOf,
  type ScheduleTestContext,
} from './test-support/schedules.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

let ctx: ScheduleTestContext;
let redis: Redis;
let reconciler: ScheduleReconciler;

beforeAll(async () => {
  ctx = await openScheduleTestContext({
    POLL_INTERVAL_MS: '1500',
    SWEEPER_INTERVAL_MS: '2500',
  });
  redis = new Redis(ctx.redis.url, { maxRetriesPerRequest: 1 });
  reconciler = newReconciler();
});
afterAll(async () => {
  redis?.disconnect();
  await ctx?.close();
});

function newReconciler(db = ctx.db): ScheduleReconciler {
  // A small page, so several pages of active schedules and of orphans are read.
  return createScheduleReconciler({
    config: ctx.config,
    db,
    queues: ctx.queues,
    logger: ctx.logger,
    pageSize: 2,
  });
}

/** What a FLUSHALL would do to this file's queues: every key under its prefix is deleted. */
async function flushPrefix(): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${ctx.redis.prefix}:*`, 'COUNT', 500);
    if (keys.length > 0) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
}

async function activeScheduleIds(): Promise<string[]> {
  const rows = await ctx.db
    .selectFrom('schedules')
    .select('id')
    .where('status', '=', 'active')
    .execute();
  return rows.map((row) => row.id).sort();
}

async function schedulerIds(): Promise<string[]> {
  return (await listScheduleJobSchedulers(ctx.queues)).map((found) => found.scheduleId).sort();
}

/** Delayed or waiting jobs of each schedule job scheduler: one each when all is well. */
async function jobsPerScheduler(): Promise<Map<string, number>> {
  const jobs = await ctx.queues.scheduler.getJobs(['delayed', 'waiting']);
  const counts = new Map<string, number>();
  for (const job of jobs) {
    if (job.repeatJobKey === undefined) continue;
    counts.set(job.repeatJobKey, (counts.get(job.repeatJobKey) ?? 0) + 1);
  }
  return counts;
}

async function fixedSchedulers() {
  const poll = await ctx.queues.scheduler.getJobScheduler(POLL_DUE_SCHEDULER_ID);
  const sweep = await ctx.queues.scheduler.getJobScheduler(SWEEPER_SCHEDULER_ID);
  return [
    poll && { name: poll.name, every: poll.every },
    sweep && { name: sweep.name, every: sweep.every },
  ];
}

/**
 * As if Redis were restored from an old snapshot: the schedule's job scheduler says it fired
 * `agoMs` ago, and its next job is gone, so nothing would ever fire it again.
 */
async function loseJobAndAge(scheduleId: string, agoMs: number): Promise<void> {
  const id = scheduleWorkflowId(scheduleId);
  const next = (await jobSchedulerOf(ctx.queues, scheduleId))?.next;
  const keys = `${ctx.redis.prefix}:scheduler`;
  await redis.zrem(`${keys}:delayed`, `repeat:${id}:${next}`);
  await redis.lrem(`${keys}:wait`, 0, `repeat:${id}:${next}`);
  await redis.del(`${keys}:repeat:${id}:${next}`);
  await redis.zadd(`${keys}:repeat`, 'XX', Date.now() - agoMs, id);
  expect((await jobsPerScheduler()).get(id)).toBeUndefined();
  expect((await jobSchedulerOf(ctx.queues, scheduleId))?.next).toBeLessThan(Date.now() - agoMs / 2);
}

/** An hourly schedule first due `firstInMs` from now. */
async function hourly(firstInMs: number): Promise<Schedule> {
  return (
    await seedSchedule(ctx.db, {
      firstRunAt: new Date(Date.now() + firstInMs),
      intervalMs: HOUR,
    })
  ).schedule;
}

describe('schedule reconciler', () => {
  it('recreates every job scheduler after the Redis keys are lost', async () => {
    const future = await hourly(30 * MINUTE);
    const overdue = await hourly(-3 * HOUR - 5_000);
    const oneShot = (
      await seedSchedule(ctx.db, { firstRunAt: new Date(Date.now() + HOUR), intervalMs: null })
    ).schedule;
    const finished = await hourly(MINUTE);
    await cancelSchedule(ctx.db, finished.organization_id, finished.id);
    for (const schedule of [future, overdue, oneShot])
      await upsertSchedulerOf(ctx.queues, schedule);

    await flushPrefix();
    expect(await ctx.queues.scheduler.getJobSchedulers()).toEqual([]);

    const before = Date.now();
    const result = await reconciler.reconcile();
    const after = Date.now();
    const active = await activeScheduleIds();
    expect(result).toEqual({ active: active.length, upserted: active.length, removed: 0 });
    expect(await schedulerIds()).toEqual(active);
    expect(active).not.toContain(finished.id);

    expect((await jobSchedulerOf(ctx.queues, future.id))?.next).toBe(future.next_run_at!.getTime());
    expect(await jobSchedulerOf(ctx.queues, oneShot.id)).toMatchObject({
      next: oneShot.next_run_at!.getTime(),
      limit: 1,
    });
    // Overdue: back on its grid at the next future slot (the due one is the poller's).
    const overdueNext = (await jobSchedulerOf(ctx.queues, overdue.id))?.next;
    const first = overdue.first_run_at.getTime();
    expect(overdueNext).toBeGreaterThanOrEqual(nextSlotAfter(first, HOUR, before));
    expect(overdueNext).toBeLessThanOrEqual(nextSlotAfter(first, HOUR, after));
    expect((overdueNext! - first) % HOUR).toBe(0);

    expect(await fixedSchedulers()).toEqual([
      { name: 'poll-due', every: 1_500 },
      { name: 'sweep', every: 2_500 },
    ]);
    for (const id of active) expect((await jobsPerScheduler()).get(scheduleWorkflowId(id))).toBe(1);

    // Healed: the next pass changes nothing.
    expect(await reconciler.reconcile()).toEqual({
      active: active.length,
      upserted: 0,
      removed: 0,
    });
  });

  it('removes job schedulers of completed, canceled and missing schedules, keeping the rest', async () => {
    const completed = await hourly(MINUTE);
    const canceled = await hourly(MINUTE);
    const paused = await hourly(MINUTE);
    const kept = await hourly(MINUTE);
    for (const schedule of [completed, canceled, paused, kept]) {
      await upsertSchedulerOf(ctx.queues, schedule);
    }
    const missing = randomUUID();
    await upsertScheduleJobScheduler(ctx.queues, {
      ...timingOf(kept),
      scheduleId: missing,
    });
    await ctx.db
      .updateTable('schedules')
      .set({ status: 'completed', next_run_at: null })
      .where('id', '=', completed.id)
      .execute();
    await ctx.db
      .updateTable('schedules')
      .set({ status: 'paused' })
      .where('id', '=', paused.id)
      .execute();
    await cancelSchedule(ctx.db, canceled.organization_id, canceled.id);

    const result = await reconciler.reconcile();
    expect(result.removed).toBe(4);
    const ids = await schedulerIds();
    for (const gone of [completed.id, canceled.id, paused.id, missing]) {
      expect(ids).not.toContain(gone);
      expect((await jobsPerScheduler()).get(scheduleWorkflowId(gone))).toBeUndefined();
    }
    expect(ids).toEqual(await activeScheduleIds());
    expect((await jobSchedulerOf(ctx.queues, kept.id))?.next).toBe(kept.next_run_at!.getTime());
    expect(await fixedSchedulers()).toEqual([
      { name: 'poll-due', every: 1_500 },
      { name: 'sweep', every: 2_500 },
    ]);
  });

  it('upserts a stale job scheduler again, from the schedule next run', async () => {
    const repeating = await hourly(20 * MINUTE);
    const oneShot = (
      await seedSchedule(ctx.db, {
        firstRunAt: new Date(Date.now() - 2 * MINUTE),
        intervalMs: null,
      })
    ).schedule;
    for (const schedule of [repeating, oneShot]) {
      await upsertSchedulerOf(ctx.queues, schedule);
      await loseJobAndAge(schedule.id, 10 * MINUTE);
    }

    const before = Date.now();
    const result = await reconciler.reconcile();
    const after = Date.now();
    expect(result).toMatchObject({ upserted: 2, removed: 0 });
    // Repeating: on its next run again, not ten minutes ago plus an interval.
    expect((await jobSchedulerOf(ctx.queues, repeating.id))?.next).toBe(
      repeating.next_run_at!.getTime(),
    );
    // A due one-shot fires now, not a day later.
    const oneShotNext = (await jobSchedulerOf(ctx.queues, oneShot.id))?.next;
    expect(oneShotNext).toBeGreaterThanOrEqual(before);
    expect(oneShotNext).toBeLessThanOrEqual(after);
    const jobs = await jobsPerScheduler();
    expect(jobs.get(scheduleWorkflowId(repeating.id))).toBe(1);
    expect(jobs.get(scheduleWorkflowId(oneShot.id))).toBe(1);
    expect(await scheduleRow(ctx.db, repeating.id)).toEqual(repeating);
  });

  it('is harmless when two dispatchers reconcile at once', async () => {
    await hourly(10 * MINUTE);
    await hourly(-2 * HOUR - 1_000);
    const gone = await hourly(MINUTE);
    await upsertSchedulerOf(ctx.queues, gone);
    await cancelSchedule(ctx.db, gone.organization_id, gone.id);
    await flushPrefix();
    await upsertSchedulerOf(ctx.queues, gone);

    const other = newReconciler(ctx.newDb());
    const results = await Promise.all([reconciler.reconcile(), other.reconcile()]);
    const active = await activeScheduleIds();
    for (const result of results) expect(result.active).toBe(active.length);
    expect(await schedulerIds()).toEqual(active);
    const jobs = await jobsPerScheduler();
    for (const id of active) expect(jobs.get(scheduleWorkflowId(id))).toBe(1);
    expect(jobs.get(scheduleWorkflowId(gone.id))).toBeUndefined();
    expect(await fixedSchedulers()).toEqual([
      { name: 'poll-due', every: 1_500 },
      { name: 'sweep', every: 2_500 },
    ]);
    expect(await reconciler.reconcile()).toEqual({
      active: active.length,
      upserted: 0,
      removed: 0,
    });
  });
});
