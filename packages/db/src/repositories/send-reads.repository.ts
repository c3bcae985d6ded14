import type { Channel } from '@outbound/domain';
import type { Executor } from './executor.ts';

/** Ids of every event recorded for a send of the organization, oldest first. */
export async function listSendEventIds(
  db: Executor,
  organizationId: string,
  sendId: string,
): Promise<string[]> {
  const rows = await db
    .selectFrom('events')
    .select('id')
    .where('organization_id', '=', organizationId)
    .where('send_id', '=', sendId)
    .orderBy('id')
    .execute();
  return rows.map((row) => row.id);
}

/** What the sandbox provider "delivered", with the send and group it was for. */
export interface SandboxDelivery {
  id: string;
  sender_id: string;
  channel: Channel;
  recipient: string;
  content: Record<string, unknown>;
  created_at: Date;
  delivery_id: string | null;
  send_id: string | null;
  group_id: string | null;
}

export interface ListSandboxDeliveriesOptions {
  organizationId: string;
  /** Only what was delivered for this send. */
  sendId?: string;
  /** Keyset cursor: only messages older than this message id. */
  before?: string;
  limit: number;
}

/** The organization's sandbox messages, newest first (ids are time-ordered UUIDv7s). */
export async function listSandboxDeliveries(
  db: Executor,
  options: ListSandboxDeliveriesOptions,
): Promise<SandboxDelivery[]> {
  let query = db
    .selectFrom('sandbox_messages')
    .leftJoin('deliveries', (join) =>
      join
        .onRef('deliveries.id', '=', 'sandbox_messages.delivery_id')
        .onRef('deliveries.organization_id', '=', 'sandbox_messages.organization_id'),
    )
    .select([
      'sandbox_messages.id',
      'sandbox_messages.sender_id',
      'sandbox_messages.channel',
      'sandbox_messages.recipient',
      'sandbox_messages.content',
      'sandbox_messages.created_at',
      'sandbox_messages.delivery_id',
      'deliveries.send_id',
      'deliveries.group_id',
    ])
    .where('sandbox_messages.organization_id', '=', options.organizationId);
  if (options.sendId !== undefined) query = query.where('deliveries.send_id', '=', options.sendId);
  if (options.before !== undefined) {
    query = query.where('sandbox_messages.id', '<', options.before);
  }
  return query.orderBy('sandbox_messages.id', 'desc').limit(options.limit).execute();
}

/** True when the send exists in the organization. */
export async function sendExists(
  db: Executor,
  organizationId: string,
  sendId: string,
): Promise<boolean> {
  const row = await db
    .selectFrom('sends')
    .select('id')
    .where('organization_id', '=', organizationId)
    .where('id', '=', sendId)
    .executeTakeFirst();
  return row !== undefined;
}
