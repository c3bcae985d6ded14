import { type Channel, newId } from '@outbound/domain';
import type { SandboxMessage } from '../database.ts';
import type { Executor } from './executor.ts';

export interface RecordSandboxMessageOptions {
  organizationId: string;
  senderId: string;
  channel: Channel;
  recipient: string;
  deliveryId?: string;
  content: Record<string, unknown>;
}

/** Stores what the sandbox provider "delivered" and returns its id as the provider message id. */
export async function recordSandboxMessage(
  db: Executor,
  options: RecordSandboxMessageOptions,
): Promise<string> {
  const id = newId();
  await db
    .insertInto('sandbox_messages')
    .values({
      id,
      organization_id: options.organizationId,
      sender_id: options.senderId,
      channel: options.channel,
      recipient: options.recipient,
      delivery_id: options.deliveryId ?? null,
      content: JSON.stringify(options.content),
    })
    .execute();
  return id;
}

export async function listSandboxMessages(
  db: Executor,
  filter: { senderId?: string; deliveryId?: string },
): Promise<SandboxMessage[]> {
  let query = db.selectFrom('sandbox_messages').selectAll();
  if (filter.senderId !== undefined) query = query.where('sender_id', '=', filter.senderId);
  if (filter.deliveryId !== undefined) query = query.where('delivery_id', '=', filter.deliveryId);
  return query.orderBy('id').execute();
}
