import { sql, type Transaction } from 'kysely';
import { newId, type SendStatus } from '@outbound/domain';
import type { Database } from '../database.ts';

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
  await refreshSendStatuses(tx, [ref]);
}

/**
 * `refreshSendStatus` for several sends in three statements, whatever their number. Call it with
 * the sends locked (`lockSends`).
 */
export async function refreshSendStatuses(
  tx: Transaction<Database>,
  refs: readonly { organization_id: string; send_id: string }[],
): Promise<void> {
  const sendIds = [...new Set(refs.map((ref) => ref.send_id))];
  if (sendIds.length === 0) return;
  const rows = await tx
    .selectFrom('deliveries')
    .select(['send_id', 'status', (eb) => eb.fn.countAll<number>().as('count')])
    .where('send_id', 'in', sendIds)
    .groupBy(['send_id', 'status'])
    .execute();
  const countsBySend = new Map<string, DeliveryCounts>(
    sendIds.map((id) => [id, { queued: 0, sending: 0, sent: 0, failed: 0, canceled: 0 }]),
  );
  for (const row of rows) countsBySend.get(row.send_id)![row.status] = Number(row.count);
  const statuses = sql.join(
    [...countsBySend].map(
      ([sendId, counts]) => sql`(${sendId}::uuid, ${sendStatusOf(counts)}::text, ${newId()}::uuid)`,
    ),
  );
  await sql`
    with computed (id, status, event_id) as (values ${statuses}),
    changed as (
      update sends as s set status = computed.status, updated_at = now()
      from computed
      where s.id = computed.id and s.status <> 'canceled' and s.status <> computed.status
      returning s.id, s.organization_id, s.status, computed.event_id
    )
    insert into events (id, organization_id, type, send_id, payload)
    select event_id, organization_id, 'send.' || status, id, jsonb_build_object('status', status)
    from changed`.execute(tx);
}

/** Locks the send row until the transaction ends, so status updates of one send queue up. */
export async function lockSend(tx: Transaction<Database>, sendId: string): Promise<void> {
  await lockSends(tx, [sendId]);
}

/**
 * Locks the sends until the transaction ends, in id order, so that transactions locking
 * overlapping sets never wait on each other in a cycle.
 */
export async function lockSends(
  tx: Transaction<Database>,
  sendIds: readonly string[],
): Promise<void> {
  const ids = [...new Set(sendIds)];
  if (ids.length === 0) return;
  await tx
    .selectFrom('sends')
    .select('id')
    .where('id', 'in', ids)
    .orderBy('id')
    .forUpdate()
    .execute();
}
