import type { Logger } from '@outbound/config';
import {
  claimDueSchedule,
  claimDueSchedules,
  type Db,
  findActiveScheduleIds,
  findSchedule,
  postponeSchedule,
  withSavepoint,
} from '@outbound/db';
import { type JobPayload, type Queues, removeScheduleJobScheduler } from '@outbound/queue';
import { type DueSource, enqueueDueDeliveries } from './due-source.ts';
import { type FiredOccurrence, fireOccurrence } from './schedule-occurrence.ts';

export interface ScheduleRunnerDeps {
  db: Db;
  queues: Queues;
  logger: Logger;
}

/** How long a schedule that failed to fire waits before the poller tries it again. */
const FAILED_FIRING_RETRY_MS = 60_000;

/** The unique (schedule_id, occurrence) constraint on sends. */
const OCCURRENCE_UNIQUE = 'sends_schedule_id_occurrence_key';

/**
 * Fires schedule occurrences (see `fireOccurrence` for the rules, missed firings included),
 * from two triggers that share the same occurrence function:
 * - `run`: the `run-schedule` job a schedule's own job scheduler makes at each slot;
 * - `dueSource`: the due-work poller's safety net, which fires every schedule that is due but
 *   whose job was lost, late, or fired a moment early.
 * Both claim with `FOR UPDATE SKIP LOCKED`; after commit they enqueue the deliveries and remove
 * the job scheduler of a schedule that completed.
 */
export function createScheduleRunner(deps: ScheduleRunnerDeps) {
  const { db, queues, logger } = deps;

  /**
   * Fires the schedule's occurrence if it is active and due at `now`; undefined when there was
   * nothing to do (not due yet, fired already, locked by another firing, or finished — then
   * its job scheduler, if any, is removed).
   */
  async function run(
    ref: JobPayload<'runSchedule'>,
    now: Date = new Date(),
  ): Promise<FiredOccurrence | undefined> {
    let fired: FiredOccurrence | undefined;
    try {
      fired = await db.transaction().execute(async (trx) => {
        const schedule = await claimDueSchedule(trx, {
          organizationId: ref.organization_id,
          scheduleId: ref.schedule_id,
          now,
        });
        return schedule === undefined ? undefined : fireOccurrence(trx, schedule, now);
      });
    } catch (error) {
      if (!isOccurrenceConflict(error)) throw error;
      logger.info({ schedule_id: ref.schedule_id }, 'occurrence made elsewhere; nothing to do');
      return undefined;
    }
    if (fired === undefined) {
      await dropIfFinished(ref);
      return undefined;
    }
    await enqueueDueDeliveries(queues, fired.deliveries, logger);
    await afterFired([fired]);
    return fired;
  }

  const dueSource: DueSource = {
    name: 'schedules',
    async claimDue({ limit, now }) {
      const { claimed, fired } = await db.transaction().execute(async (trx) => {
        const due = await claimDueSchedules(trx, { now, limit });
        const made: FiredOccurrence[] = [];
        for (const schedule of due) {
          // One schedule that cannot fire must not hold back the rest of the batch.
          const one = await withSavepoint(trx, () => fireOccurrence(trx, schedule, now)).catch(
            async (error: unknown) => {
              logger.error(
                { err: error, schedule_id: schedule.id, retry_in_ms: FAILED_FIRING_RETRY_MS },
                'schedule occurrence failed; retried later',
              );
              await postponeSchedule(trx, schedule.id, FAILED_FIRING_RETRY_MS);
              return undefined;
            },
          );
          if (one !== undefined) made.push(one);
        }
        return { claimed: due.length, fired: made };
      });
      return {
        claimed,
        deliveries: fired.flatMap((occurrence) => occurrence.deliveries),
        afterCommit: () => afterFired(fired),
      };
    },
  };

  async function afterFired(fired: readonly FiredOccurrence[]): Promise<void> {
    for (const occurrence of fired) {
      logger.info(
        {
          schedule_id: occurrence.scheduleId,
          organization_id: occurrence.organizationId,
          occurrence: occurrence.occurrence,
          send_id: occurrence.sendId,
          deliveries: occurrence.deliveries.length,
          next_run_at_ms: occurrence.nextRunAt?.getTime() ?? null,
        },
        occurrence.completed
          ? 'schedule occurrence fired; schedule completed'
          : 'schedule occurrence fired',
      );
      if (occurrence.completed) await removeJobScheduler(occurrence.scheduleId);
    }
  }

  /** A job of a schedule that is gone, completed or canceled removes its scheduler. */
  async function dropIfFinished(ref: JobPayload<'runSchedule'>): Promise<void> {
    const schedule = await findSchedule(db, ref.organization_id, ref.schedule_id);
    if (schedule === undefined) {
      // A job naming the wrong organization must not remove a live schedule's job scheduler.
      const live = await findActiveScheduleIds(db, [ref.schedule_id]);
      if (!live.has(ref.schedule_id)) await removeJobScheduler(ref.schedule_id);
      return;
    }
    if (schedule.status === 'completed' || schedule.status === 'canceled') {
      await removeJobScheduler(ref.schedule_id);
    }
  }

  async function removeJobScheduler(scheduleId: string): Promise<void> {
    try {
      await removeScheduleJobScheduler(queues, scheduleId);
    } catch (error) {
      // The reconciler removes schedulers without an active schedule.
      logger.warn({ err: error, schedule_id: scheduleId }, 'removing a job scheduler failed');
    }
  }

  return { run, dueSource };
}

export type ScheduleRunner = ReturnType<typeof createScheduleRunner>;

function isOccurrenceConflict(error: unknown): boolean {
  const { code, constraint } = (error ?? {}) as { code?: unknown; constraint?: unknown };
  return code === '23505' && constraint === OCCURRENCE_UNIQUE;
}
