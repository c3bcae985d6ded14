import {
  findSchedule,
  listScheduleOccurrences,
  whatsappSendContentSchema,
  type Db,
  type Schedule,
} from '@outbound/db';
import { scheduleWorkflowId } from '@outbound/queue';
import { AppError } from '../errors/app-error.ts';
import type { ScheduleResponse } from '../routes/schedules.schema.ts';

type ScheduleView = ScheduleResponse['schedule'];

/** The organization's schedule as it stands, with its occurrences' sends; 404 otherwise. */
export async function getScheduleView(
  db: Db,
  organizationId: string,
  scheduleId: string,
): Promise<ScheduleView> {
  const schedule = await findSchedule(db, organizationId, scheduleId);
  if (schedule === undefined) throw scheduleNotFound(scheduleId);
  return scheduleView(db, schedule);
}

/** A schedule row, and the sends it has made, as the API shows them. */
export async function scheduleView(db: Db, schedule: Schedule): Promise<ScheduleView> {
  const occurrences = await listScheduleOccurrences(db, schedule.organization_id, schedule.id);
  const content = whatsappSendContentSchema.parse(schedule.content);
  return {
    schedule_id: schedule.id,
    workflow_id: scheduleWorkflowId(schedule.id),
    status: schedule.status,
    session_id: schedule.sender_id,
    group_ids: schedule.group_ids,
    actor_user_id: schedule.actor_user_id,
    text: content.text,
    media: content.media.map((item) => ({
      url: item.url,
      mimetype: item.mimetype,
      filename: item.filename,
      sha256: item.sha256,
      size_bytes: item.size_bytes,
      storage_key: item.storage_key,
    })),
    first_run_at_ms: schedule.first_run_at.getTime(),
    interval_ms: schedule.interval_ms,
    max_occurrences: schedule.max_occurrences,
    occurrences_made: schedule.occurrences_made,
    next_run_at_ms: schedule.next_run_at?.getTime() ?? null,
    send_ids: occurrences.map((occurrence) => occurrence.send_id),
    created_at_ms: schedule.created_at.getTime(),
    updated_at_ms: schedule.updated_at.getTime(),
    canceled_at_ms: schedule.canceled_at?.getTime() ?? null,
  };
}

export function scheduleNotFound(scheduleId: string): AppError {
  return AppError.of('not_found', `schedule ${scheduleId} not found`, { schedule_id: scheduleId });
}
