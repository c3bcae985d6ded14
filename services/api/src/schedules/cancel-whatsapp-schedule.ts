import type { Logger } from '@outbound/config';
import { cancelSchedule, type Db } from '@outbound/db';
import { removeScheduleJobScheduler, type Queues } from '@outbound/queue';
import { AppError } from '../errors/app-error.ts';
import type { ScheduleResponse } from '../routes/schedules.schema.ts';
import { redisAfterCommit } from '../sends/redis-after-commit.ts';
import { scheduleNotFound, scheduleView } from './schedule-view.ts';

export interface CancelWhatsappScheduleDeps {
  db: Db;
  queues: Queues;
}

/**
 * Cancels the organization's schedule: no further occurrence, and the deliveries of its sends
 * still `queued` become `canceled` (in one transaction); then its job scheduler is removed (if
 * Redis is down, the dispatcher's reconciler removes it, and a firing meanwhile finds nothing
 * to do). Canceling a canceled schedule answers the same again; a completed one is a 409.
 */
export async function cancelWhatsappSchedule(
  deps: CancelWhatsappScheduleDeps,
  organizationId: string,
  scheduleId: string,
  log: Logger,
): Promise<ScheduleResponse['schedule']> {
  const result = await cancelSchedule(deps.db, organizationId, scheduleId);
  if (result === undefined) throw scheduleNotFound(scheduleId);
  const { schedule } = result;
  if (schedule.status === 'completed') {
    throw AppError.of(
      'conflict',
      `schedule ${scheduleId} is completed; there is nothing left to cancel`,
      { schedule_id: scheduleId, status: schedule.status },
    );
  }
  if (result.changed) {
    log.info(
      { schedule_id: scheduleId, canceled_deliveries: result.canceledDeliveries },
      'schedule canceled',
    );
  }
  await redisAfterCommit(() => removeScheduleJobScheduler(deps.queues, scheduleId), log, {
    message: 'removing the job scheduler failed; the dispatcher reconciles it',
    fields: { schedule_id: scheduleId },
  });
  return scheduleView(deps.db, schedule);
}
