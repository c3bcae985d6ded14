import { sql, type Transaction } from 'kysely';
import type { SendStatus } from '@outbound/domain';
import type { Database } from '../database.ts';
import { recordEvents } from './events.repository.ts';

export interface DeliveryCounts {
  queued: number;
  sending: number;
  sent: number;
  failed: number;
  canceled: number;
}

/**
 * A send's status from its deliveries: `queued` until one starts, `sending` while any is
 * unfinished, then `sent`, `partially_failed` or `failed` (`canceled` when all were canceled).
 */
export function sendStatusOf(counts: DeliveryCounts): SendStatus {
  const { queued, sending, sent, failed } = counts;
  if (queued + sending > 0) return sending + sent + failed > 0 ? 'sending' : 'queued';
  if (sent > 0) return failed > 0 ? 'partially_failed' : 'sent';
  return failed > 0 ? 'failed' : 'canceled';
}

/**
 * Recomputes a send's status from its deliveries and records `send.<status>` when it changed;
 * a canceled send stays canceled. Call it with the send locked (`lockSend`).
 */
export async function refreshSendStatus(
  tx: Transaction<Database>,
  ref: { organization_id: string; send_id: string },
): Promise<void> {
  const rows = await tx
    .selectFrom('deliveries')
    .select(['status', (eb) => eb.fn.countAll<number>().as('count')])
    .where('send_id', '=', ref.send_id)
    .groupBy('status')
    .execute();
  const counts: DeliveryCounts = { queued: 0, sending: 0, sent: 0, failed: 0, canceled: 0 };
  for (const row of rows) counts[row.status] = Number(row.count);
  const status = sendStatusOf(counts);
  const changed = await tx
    .updateTable('sends')
    .set({ status, updated_at: sql<Date>`now()` })
    .where('id', '=', ref.send_id)
    .where('status', 'not in', ['canceled', status])
    .executeTakeFirst();
  if (changed.numUpdatedRows > 0n) await recordEvents(tx, [sendEvent(ref, status)]);
}

/** Locks the send row until the transaction ends, so status updates of one send queue up. */
export async function lockSend(tx: Transaction<Database>, sendId: string): Promise<void> {
  await tx.selectFrom('sends').select('id').where('id', '=', sendId).forUpdate().execute();
}

export function sendEvent(ref: { organization_id: string; send_id: string }, status: SendStatus) {
  return {
    organizationId: ref.organization_id,
    type: `send.${status}`,
    sendId: ref.send_id,
    payload: { status },
  };
}
