import { z } from 'zod';
import { type Channel, newId, type SendOrigin } from '@outbound/domain';
import type { Delivery, Send } from '../database.ts';
import { recordEvents } from './events.repository.ts';
import type { Executor } from './executor.ts';

/** A media item as a send stores it: always a media object Outbound holds and serves. */
export const storedMediaSchema = z.object({
  media_object_id: z.uuid(),
  url: z.url(),
  mimetype: z.string(),
  filename: z.string().nullable(),
  sha256: z.string(),
  size_bytes: z.number().int().nonnegative(),
  storage_key: z.string(),
  /** The caller's URL when the media was fetched from one; never handed to a provider. */
  source_url: z.url().nullable(),
});
export type StoredMedia = z.infer<typeof storedMediaSchema>;

/** What a WhatsApp send carries to every recipient. */
export const whatsappSendContentSchema = z.object({
  text: z.string().nullable(),
  media: z.array(storedMediaSchema),
});
export type WhatsappSendContent = z.infer<typeof whatsappSendContentSchema>;

export interface NewDelivery {
  recipient: string;
  groupId?: string;
}

export interface CreateSendOptions {
  organizationId: string;
  senderId: string;
  channel: Channel;
  origin: SendOrigin;
  actorUserId?: string | null;
  content: Record<string, unknown>;
  recipients: readonly NewDelivery[];
  idempotencyKey?: string | null;
  scheduleId?: string | null;
  occurrence?: number | null;
  plannedAt?: Date;
  requestId?: string | null;
}

export interface CreatedSend {
  send: Send;
  deliveries: Delivery[];
  eventIds: string[];
}

/**
 * Writes a send, one `queued` delivery per recipient (in the given order) and an `accepted`
 * event. Run it inside the caller's transaction: enqueueing happens after commit.
 */
export async function createSend(db: Executor, options: CreateSendOptions): Promise<CreatedSend> {
  const send = await db
    .insertInto('sends')
    .values({
      id: newId(),
      organization_id: options.organizationId,
      sender_id: options.senderId,
      channel: options.channel,
      origin: options.origin,
      actor_user_id: options.actorUserId ?? null,
      content: JSON.stringify(options.content),
      idempotency_key: options.idempotencyKey ?? null,
      schedule_id: options.scheduleId ?? null,
      occurrence: options.occurrence ?? null,
      ...(options.plannedAt === undefined ? {} : { planned_at: options.plannedAt }),
      request_id: options.requestId ?? null,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  const deliveries =
    options.recipients.length === 0
      ? []
      : await db
          .insertInto('deliveries')
          .values(
            options.recipients.map((recipient) => ({
              id: newId(),
              organization_id: options.organizationId,
              send_id: send.id,
              sender_id: options.senderId,
              group_id: recipient.groupId ?? null,
              recipient: recipient.recipient,
              due_at: send.planned_at,
            })),
          )
          .returningAll()
          .execute();
  const ordered = [...deliveries].sort(compareIds);
  const eventIds = await recordEvents(db, [
    {
      organizationId: options.organizationId,
      type: 'send.accepted',
      sendId: send.id,
      payload: { deliveries: ordered.length, origin: options.origin },
    },
  ]);
  return { send, deliveries: ordered, eventIds };
}

// UUIDv7 ids are generated in order, so sorting by id restores the recipients' order.
function compareIds(a: { id: string }, b: { id: string }): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** A send of the organization with its deliveries in recipient order, or undefined. */
export async function findSendWithDeliveries(
  db: Executor,
  organizationId: string,
  sendId: string,
): Promise<{ send: Send; deliveries: Delivery[] } | undefined> {
  const send = await db
    .selectFrom('sends')
    .selectAll()
    .where('organization_id', '=', organizationId)
    .where('id', '=', sendId)
    .executeTakeFirst();
  if (send === undefined) return undefined;
  const deliveries = await db
    .selectFrom('deliveries')
    .selectAll()
    .where('send_id', '=', sendId)
    .orderBy('id')
    .execute();
  return { send, deliveries };
}
