import {
  cancelSendWithoutRecipients,
  createSend,
  findOccurrenceSendId,
  findScheduleRecipients,
  recordScheduleOccurrence,
  type Executor,
  type Schedule,
} from '@outbound/db';
import { nextSlotAfter } from '@outbound/queue';

/** A delivery made by an occurrence, as its job needs it. */
export interface OccurrenceDelivery {
  delivery_id: string;
  organization_id: string;
  due_at: Date;
}

/** What firing one occurrence did. */
export interface FiredOccurrence {
  scheduleId: string;
  organizationId: string;
  occurrence: number;
  /** The send made; undefined when the occurrence already had one (nothing is made twice). */
  sendId: string | undefined;
  deliveries: OccurrenceDelivery[];
  /** The schedule's next run; null once it is completed. */
  nextRunAt: Date | null;
  completed: boolean;
}

/**
 * Fires the next occurrence of a schedule the caller has claimed — locked `FOR UPDATE` in `trx`
 * and found active and due at `now` — in that same transaction: occurrence N =
 * `occurrences_made + 1` becomes a `schedule_occurrence` send with one `queued` delivery per
 * group (groups deleted since are left out), planned at the slot it was due (`next_run_at`);
 * then the schedule counts it and moves on. The caller commits, then enqueues `deliveries`.
 *
 * Occurrences are unique per (schedule, number) in Postgres and the row lock serialises
 * firings, so a second firing of the same slot finds the schedule no longer due and makes
 * nothing; should occurrence N exist anyway, it is counted and not made again.
 *
 * Missed firings: a schedule found due after its slot has passed (every dispatcher down for a
 * while, or a lost job) fires ONCE for everything it missed — one send, planned at the oldest
 * missed slot — and its `next_run_at` moves to the first slot
 * `first_run_at + k · interval_ms` after `now`. Missed slots are skipped, not made up, and do
 * not count towards `max_occurrences`: occurrences count the sends actually made. After
 * `max_occurrences` (a one-shot has one) the schedule is `completed` with no next run.
 */
export async function fireOccurrence(
  trx: Executor,
  schedule: Schedule,
  now: Date,
): Promise<FiredOccurrence> {
  const slot = schedule.next_run_at;
  if (slot === null) throw new Error(`schedule ${schedule.id} has no next run to fire`);
  const occurrence = schedule.occurrences_made + 1;
  let sendId: string | undefined;
  let deliveries: OccurrenceDelivery[] = [];
  if ((await findOccurrenceSendId(trx, schedule.id, occurrence)) === undefined) {
    const recipients = await findScheduleRecipients(
      trx,
      schedule.organization_id,
      schedule.group_ids,
    );
    const created = await createSend(trx, {
      organizationId: schedule.organization_id,
      senderId: schedule.sender_id,
      channel: 'whatsapp',
      origin: 'schedule_occurrence',
      actorUserId: schedule.actor_user_id,
      content: schedule.content,
      recipients: recipients.map((group) => ({ recipient: group.chat_id, groupId: group.id })),
      scheduleId: schedule.id,
      occurrence,
      plannedAt: slot,
    });
    sendId = created.send.id;
    if (recipients.length === 0) {
      await cancelSendWithoutRecipients(trx, { organizationId: schedule.organization_id, sendId });
    }
    deliveries = created.deliveries.map((delivery) => ({
      delivery_id: delivery.id,
      organization_id: delivery.organization_id,
      due_at: delivery.due_at,
    }));
  }
  const nextRunAt = nextRunAfter(schedule, occurrence, Math.max(now.getTime(), slot.getTime()));
  if (!(await recordScheduleOccurrence(trx, schedule, nextRunAt))) {
    throw new Error(`schedule ${schedule.id} changed while its occurrence was fired`);
  }
  return {
    scheduleId: schedule.id,
    organizationId: schedule.organization_id,
    occurrence,
    sendId,
    deliveries,
    nextRunAt,
    completed: nextRunAt === null,
  };
}

/** The first slot after `after`, or null once occurrence `made` was the last. */
function nextRunAfter(schedule: Schedule, made: number, after: number): Date | null {
  const interval = schedule.interval_ms;
  if (interval === null || made >= schedule.max_occurrences) return null;
  return new Date(nextSlotAfter(schedule.first_run_at.getTime(), interval, after));
}
