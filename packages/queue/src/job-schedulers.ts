import {
  DEFAULT_JOB_OPTIONS,
  JOBS,
  SWEEPER_SCHEDULER_ID,
  WEBHOOK_RELAY_SCHEDULER_ID,
  WEBHOOK_SWEEPER_SCHEDULER_ID,
} from './job-catalog.ts';
import { scheduleWorkflowId } from './queue-names.ts';
import type { Queues } from './queues.ts';
import { nextSlotAfter } from './schedule-slots.ts';

/** The id every dispatcher upserts for the due-work poller, so they share one. */
export const POLL_DUE_SCHEDULER_ID = 'outbound:poll-due';

const WORKFLOW_PREFIX = scheduleWorkflowId('');

/**
 * The `every` of a one-shot schedule's job scheduler. It never repeats (`limit: 1`); the value
 * only spaces a stray second job (a reconcile racing the first firing) a day away, where the
 * schedule, completed by then, makes it a no-op.
 */
export const ONE_SHOT_EVERY_MS = 24 * 3_600_000;

/** What a schedule's job scheduler is built from: the schedule row as Postgres holds it. */
export interface ScheduleTiming {
  scheduleId: string;
  organizationId: string;
  firstRunAt: Date;
  /** `null` for a one-shot schedule. */
  intervalMs: number | null;
  nextRunAt: Date;
}

/**
 * When a new job scheduler for the schedule first fires (epoch ms): its `next_run_at` when that
 * is ahead; a one-shot already due fires now; a repeating schedule already due starts at its
 * next future slot, so its jobs stay on the grid `first_run_at + k · interval_ms` (BullMQ would
 * otherwise count the interval from now), and the occurrence that is due now is the due-work
 * poller's to fire.
 */
export function firstFiringAt(timing: ScheduleTiming, now: number): number {
  const next = timing.nextRunAt.getTime();
  if (next > now) return next;
  if (timing.intervalMs === null) return now;
  return nextSlotAfter(timing.firstRunAt.getTime(), timing.intervalMs, now);
}

/**
 * Creates the schedule's job scheduler (id = its `workflow_id`), or leaves an existing one on its
 * current next firing (BullMQ keeps the time of a scheduler it already has). Repeating
 * schedules fire `every: interval_ms`; a one-shot is a scheduler with `limit: 1`, so every
 * schedule is healed and removed the same way. Safe to call from several processes at once:
 * BullMQ upserts in one Lua script, and a stray extra firing finds nothing due in Postgres.
 */
export async function upsertScheduleJobScheduler(
  queues: Queues,
  timing: ScheduleTiming,
  now: number = Date.now(),
): Promise<void> {
  const startDate = firstFiringAt(timing, now);
  const repeat =
    timing.intervalMs === null
      ? { every: ONE_SHOT_EVERY_MS, limit: 1, startDate }
      : { every: timing.intervalMs, startDate };
  await queues.scheduler.upsertJobScheduler(scheduleWorkflowId(timing.scheduleId), repeat, {
    name: JOBS.runSchedule.name,
    data: JOBS.runSchedule.payload.parse({
      schedule_id: timing.scheduleId,
      organization_id: timing.organizationId,
    }),
  });
}

/** Removes the schedule's job scheduler and its next job; false when there was none. */
export async function removeScheduleJobScheduler(
  queues: Queues,
  scheduleId: string,
): Promise<boolean> {
  return queues.scheduler.removeJobScheduler(scheduleWorkflowId(scheduleId));
}

/** The schedule id of a schedule's job scheduler id; undefined for any other scheduler. */
export function scheduleIdOfJobScheduler(jobSchedulerId: string): string | undefined {
  return jobSchedulerId.startsWith(WORKFLOW_PREFIX)
    ? jobSchedulerId.slice(WORKFLOW_PREFIX.length)
    : undefined;
}

/** A schedule's job scheduler as Redis holds it. */
export interface ScheduleJobScheduler {
  scheduleId: string;
  /** When it fires next (epoch ms), if BullMQ knows. */
  nextAt: number | undefined;
}

/** Every schedule job scheduler in the queue, read `pageSize` at a time. */
export async function listScheduleJobSchedulers(
  queues: Queues,
  pageSize = 1_000,
): Promise<ScheduleJobScheduler[]> {
  const found = new Map<string, ScheduleJobScheduler>();
  for (let start = 0; ; start += pageSize) {
    const page = await queues.scheduler.getJobSchedulers(start, start + pageSize - 1, true);
    for (const scheduler of page) {
      const scheduleId = scheduleIdOfJobScheduler(scheduler.key);
      if (scheduleId !== undefined) {
        found.set(scheduleId, { scheduleId, nextAt: scheduler.next ?? undefined });
      }
    }
    if (page.length < pageSize) break;
  }
  return [...found.values()];
}

/** How often each of the dispatchers' shared job schedulers fires. */
export interface FixedJobSchedulerIntervals {
  pollEveryMs: number;
  /** The sweeper, and the webhook sweeper beside it. */
  sweepEveryMs: number;
  relayWebhooksEveryMs: number;
}

/**
 * The dispatchers' shared job schedulers: `poll-due` every `pollEveryMs`, the sweeper and the
 * webhook sweeper every `sweepEveryMs`, and the webhook relay every `relayWebhooksEveryMs`.
 * One attempt each: a failed run is simply done again at the next interval.
 */
export async function upsertFixedJobSchedulers(
  queues: Queues,
  options: FixedJobSchedulerIntervals,
): Promise<void> {
  const { removeOnComplete, removeOnFail } = DEFAULT_JOB_OPTIONS.scheduler;
  const opts = { attempts: 1, removeOnComplete, removeOnFail };
  const fixed = [
    [POLL_DUE_SCHEDULER_ID, JOBS.pollDue.name, options.pollEveryMs],
    [SWEEPER_SCHEDULER_ID, JOBS.sweep.name, options.sweepEveryMs],
    [WEBHOOK_RELAY_SCHEDULER_ID, JOBS.relayWebhooks.name, options.relayWebhooksEveryMs],
    [WEBHOOK_SWEEPER_SCHEDULER_ID, JOBS.sweepWebhooks.name, options.sweepEveryMs],
  ] as const;
  for (const [id, name, every] of fixed) {
    await queues.scheduler.upsertJobScheduler(id, { every }, { name, data: {}, opts });
  }
}

/**
 * Asks for one extra `poll-due` run at `at`, so an item due then is claimed at once rather than
 * at the next regular poll. The poller still reads what is due from Postgres, so a wake-up for
 * an item that moved or was sent meanwhile is a harmless empty poll; the job id (`key` and the
 * time) keeps repeated saves from stacking wake-ups.
 */
export async function wakePollerAt(queues: Queues, at: Date, key: string): Promise<void> {
  const { removeOnComplete, removeOnFail } = DEFAULT_JOB_OPTIONS.scheduler;
  await queues.scheduler.add(
    JOBS.pollDue.name,
    {},
    {
      jobId: `wake-${key}-${at.getTime()}`,
      delay: Math.max(0, at.getTime() - Date.now()),
      attempts: 1,
      removeOnComplete,
      removeOnFail,
    },
  );
}
