import { sql, type Transaction } from 'kysely';
import type { Database } from '../database.ts';
import { recordEvents } from './events.repository.ts';
import type { Executor } from './executor.ts';
import type { Schedule } from './schedules.repository.ts';
import { lockSend, refreshSendStatus } from './send-status.ts';

export interface CancelScheduleResult {
  /** The schedule after the call. */
  schedule: Schedule;
  /** True when this call moved it to `canceled`. */
  changed: boolean;
  /** Deliveries of its sends this call moved from `queued` to `canceled`. */
  canceledDeliveries: number;
}

/**
 * Cancels an `active` or `paused` schedule: no next run, `schedule.canceled` recorded. Once it
 * is canceled (now or earlier), every delivery of its sends still `queued` becomes `canceled`
 * (with `delivery.canceled` events, and its send's status recomputed); deliveries already
 * `sending` are left to finish. A `completed` schedule is answered unchanged. Idempotent: a
 * second call changes nothing. Undefined when the organization has no such schedule.
 *
 * Locks deliveries before sends, as claiming a delivery does, so the two cannot deadlock.
 */
export async function cancelSchedule(
  db: Executor,
  organizationId: string,
  scheduleId: string,
): Promise<CancelScheduleResult | undefined> {
  return inTransaction(db, async (tx) => {
    const canceled = await tx
      .updateTable('schedules')
      .set({
        status: 'canceled',
        next_run_at: null,
        canceled_at: sql<Date>`now()`,
        updated_at: sql<Date>`now()`,
      })
      .where('organization_id', '=', organizationId)
      .where('id', '=', scheduleId)
      .where('status', 'in', ['active', 'paused'])
      .returningAll()
      .executeTakeFirst();
    if (canceled !== undefined) {
      await recordEvents(tx, [
        {
          organizationId,
          type: 'schedule.canceled',
          scheduleId,
          payload: { occurrences_made: canceled.occurrences_made },
        },
      ]);
    }
    const schedule =
      canceled ??
      (await tx
        .selectFrom('schedules')
        .selectAll()
        .where('organization_id', '=', organizationId)
        .where('id', '=', scheduleId)
        .executeTakeFirst());
    if (schedule === undefined) return undefined;
    const canceledDeliveries =
      schedule.status === 'canceled' ? await cancelQueuedDeliveries(tx, schedule) : 0;
    return { schedule, changed: canceled !== undefined, canceledDeliveries };
  });
}

async function cancelQueuedDeliveries(
  tx: Transaction<Database>,
  schedule: Schedule,
): Promise<number> {
  const canceled = await tx
    .updateTable('deliveries')
    .set({ status: 'canceled', canceled_at: sql<Date>`now()`, updated_at: sql<Date>`now()` })
    .where('organization_id', '=', schedule.organization_id)
    .where('status', '=', 'queued')
    .where('send_id', 'in', (eb) =>
      eb
        .selectFrom('sends')
        .select('sends.id')
        .where('sends.organization_id', '=', schedule.organization_id)
        .where('sends.schedule_id', '=', schedule.id),
    )
    .returning(['id', 'send_id'])
    .execute();
  if (canceled.length === 0) return 0;
  await recordEvents(
    tx,
    canceled.map((delivery) => ({
      organizationId: schedule.organization_id,
      type: 'delivery.canceled',
      sendId: delivery.send_id,
      deliveryId: delivery.id,
      payload: { reason: 'schedule_canceled', schedule_id: schedule.id },
    })),
  );
  const sendIds = [...new Set(canceled.map((delivery) => delivery.send_id))].sort();
  for (const sendId of sendIds) {
    await lockSend(tx, sendId);
    await refreshSendStatus(tx, { organization_id: schedule.organization_id, send_id: sendId });
  }
  return canceled.length;
}

async function inTransaction<T>(
  db: Executor,
  work: (tx: Transaction<Database>) => Promise<T>,
): Promise<T> {
  return db.isTransaction ? work(db as Transaction<Database>) : db.transaction().execute(work);
}
