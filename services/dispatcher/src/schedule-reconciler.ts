import type { Config, Logger } from '@outbound/config';
import {
  type ActiveScheduleTiming,
  type Db,
  findActiveScheduleIds,
  listActiveSchedules,
} from '@outbound/db';
import {
  listScheduleJobSchedulers,
  type Queues,
  removeScheduleJobScheduler,
  type ScheduleJobScheduler,
  upsertFixedJobSchedulers,
  upsertScheduleJobScheduler,
} from '@outbound/queue';

export interface ScheduleReconcilerDeps {
  config: Pick<Config, 'POLL_INTERVAL_MS' | 'SWEEPER_INTERVAL_MS' | 'WEBHOOK_RELAY_INTERVAL_MS'>;
  db: Db;
  queues: Queues;
  logger: Logger;
  /** Active schedules read per query. */
  pageSize?: number;
  /**
   * A job scheduler whose next firing is further in the past than this is stale (its job was
   * lost, e.g. Redis restored from an old snapshot) and is upserted again. One minute by default.
   */
  staleAfterMs?: number;
}

export interface ReconcileResult {
  /** Active schedules in Postgres. */
  active: number;
  /** Job schedulers created (missing) or upserted again (stale). */
  upserted: number;
  /** Job schedulers removed because their schedule is no longer active. */
  removed: number;
}

/**
 * Makes Redis agree with Postgres about schedules (DESIGN §4.1, §5), so that a Redis flushed,
 * failed over or restored from an old snapshot heals itself:
 * - the shared `poll-due`, sweeper, webhook relay and webhook sweeper job schedulers exist;
 * - every active schedule has its job scheduler (id = `workflow_id`): a missing or stale one is
 *   upserted, from the schedule's next run (see `upsertScheduleJobScheduler`);
 * - every schedule job scheduler whose schedule is not active (completed, canceled, deleted) is
 *   removed — re-checked in Postgres first, so a schedule created during the pass is kept.
 * Harmless when several dispatchers reconcile at once: upserts are atomic and keep an existing
 * scheduler's time, removals only touch schedules Postgres says are finished, and a stray firing
 * finds nothing due.
 */
export function createScheduleReconciler(deps: ScheduleReconcilerDeps) {
  const { config, db, queues, logger } = deps;
  const pageSize = deps.pageSize ?? 500;
  const staleAfterMs = deps.staleAfterMs ?? 60_000;

  async function reconcile(): Promise<ReconcileResult> {
    await upsertFixedJobSchedulers(queues, {
      pollEveryMs: config.POLL_INTERVAL_MS,
      sweepEveryMs: config.SWEEPER_INTERVAL_MS,
      relayWebhooksEveryMs: config.WEBHOOK_RELAY_INTERVAL_MS,
    });
    const existing = new Map(
      (await listScheduleJobSchedulers(queues)).map((found) => [found.scheduleId, found]),
    );
    const result: ReconcileResult = { active: 0, upserted: 0, removed: 0 };
    let afterId: string | undefined;
    for (;;) {
      const page = await listActiveSchedules(db, {
        limit: pageSize,
        ...(afterId === undefined ? {} : { afterId }),
      });
      result.active += page.length;
      const now = Date.now();
      const needed: { schedule: ActiveScheduleTiming; stale: boolean }[] = [];
      for (const schedule of page) {
        const found = existing.get(schedule.id);
        existing.delete(schedule.id);
        if (found === undefined || isStale(found, now)) {
          needed.push({ schedule, stale: found !== undefined });
        }
      }
      await Promise.all(needed.map(({ schedule, stale }) => upsert(schedule, now, stale)));
      result.upserted += needed.length;
      if (page.length < pageSize) break;
      afterId = page[page.length - 1]!.id;
    }

    const orphans = [...existing.keys()];
    for (let start = 0; start < orphans.length; start += pageSize) {
      const ids = orphans.slice(start, start + pageSize);
      const active = await findActiveScheduleIds(db, ids);
      const finished = ids.filter((id) => !active.has(id));
      await Promise.all(finished.map((id) => removeScheduleJobScheduler(queues, id)));
      result.removed += finished.length;
    }
    if (result.upserted + result.removed > 0) logger.info(result, 'schedules reconciled');
    return result;
  }

  function isStale(found: ScheduleJobScheduler, now: number): boolean {
    return found.nextAt === undefined || found.nextAt < now - staleAfterMs;
  }

  /**
   * A stale scheduler is removed first: BullMQ keeps the time of a scheduler it already has and
   * would count the next firing from the stale time instead of from the schedule's next run.
   */
  async function upsert(
    schedule: ActiveScheduleTiming,
    now: number,
    stale: boolean,
  ): Promise<void> {
    if (schedule.next_run_at === null) return;
    if (stale) await removeScheduleJobScheduler(queues, schedule.id);
    await upsertScheduleJobScheduler(
      queues,
      {
        scheduleId: schedule.id,
        organizationId: schedule.organization_id,
        firstRunAt: schedule.first_run_at,
        intervalMs: schedule.interval_ms,
        nextRunAt: schedule.next_run_at,
      },
      now,
    );
  }

  return { reconcile };
}

export type ScheduleReconciler = ReturnType<typeof createScheduleReconciler>;
