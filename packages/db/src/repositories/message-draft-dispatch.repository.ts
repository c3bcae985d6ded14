import { sql, type Transaction } from 'kysely';
import type { Database, Delivery } from '../database.ts';
import { appendConversationMessage, createConversation } from './conversations.repository.ts';
import { recordEvents } from './events.repository.ts';
import type { Executor } from './executor.ts';
import {
  messageDraftSendContentSchema,
  type MessageDraftSendContent,
} from './message-draft-send-content.ts';
import { CHANNEL_OF_MODALITY, type MessageDraftRow } from './message-drafts.repository.ts';
import { createSend } from './sends.repository.ts';

export interface QueueMessageDraftOptions {
  actorUserId?: string | null;
  requestId?: string | null;
}

export interface QueuedMessageDraft {
  sendId: string;
  /** Exactly one, `queued`: the caller commits, then enqueues it. */
  deliveries: Delivery[];
}

/**
 * Queues a new draft for delivery, in `trx`: a send of origin `message_draft` (`email` for an
 * email draft, `sms` for a text draft) through the draft's sender, whose content
 * (`messageDraftSendContentSchema`) snapshots the draft, with exactly ONE queued delivery to
 * the draft's recipient; the draft becomes `queued`, linked to the send, with
 * `scheduled_send_at` the send's planned time (the transaction's). Throws when the draft has
 * no recipient for its modality, its email sender no address, or it already has a send: the
 * caller checks all of that first.
 */
export async function queueMessageDraft(
  trx: Transaction<Database>,
  draft: MessageDraftRow,
  options: QueueMessageDraftOptions = {},
): Promise<QueuedMessageDraft> {
  const content = await sendContent(trx, draft);
  const created = await createSend(trx, {
    organizationId: draft.organization_id,
    senderId: draft.sender_id,
    channel: CHANNEL_OF_MODALITY[draft.modality],
    origin: 'message_draft',
    actorUserId: options.actorUserId ?? null,
    content,
    recipients: [{ recipient: content.to }],
    requestId: options.requestId ?? null,
  });
  const linked = await trx
    .updateTable('message_drafts')
    .set({
      status: 'queued',
      send_id: created.send.id,
      scheduled_send_at: created.send.planned_at,
      updated_at: sql<Date>`now()`,
    })
    .where('organization_id', '=', draft.organization_id)
    .where('id', '=', draft.id)
    .where('send_id', 'is', null)
    .where('status', '=', 'draft')
    .executeTakeFirst();
  if (linked.numUpdatedRows === 0n) {
    throw new Error(`message draft ${draft.id} is not a new, unsent draft`);
  }
  return { sendId: created.send.id, deliveries: created.deliveries };
}

async function sendContent(
  trx: Transaction<Database>,
  draft: MessageDraftRow,
): Promise<MessageDraftSendContent> {
  const common = {
    kind: 'message_draft',
    message_draft_id: draft.id,
    to_name: draft.recipient_name === '' ? null : draft.recipient_name,
    subject: draft.subject,
    html: draft.body_html,
  } as const;
  if (draft.modality === 'text') {
    return messageDraftSendContentSchema.parse({
      ...common,
      modality: 'text',
      to: draft.recipient_phone_number,
    });
  }
  const sender = await trx
    .selectFrom('senders')
    .select('address')
    .where('organization_id', '=', draft.organization_id)
    .where('id', '=', draft.sender_id)
    .executeTakeFirst();
  return messageDraftSendContentSchema.parse({
    ...common,
    modality: 'email',
    from: sender?.address,
    to: draft.recipient_email,
    cc: draft.cc_emails,
    bcc: draft.bcc_emails,
  });
}

/** Names a send of the organization: what a delivery's outcome is reported with. */
export interface MessageDraftSendRef {
  organizationId: string;
  sendId: string;
}

/** The draft a send was made from, locked in `trx`, or undefined when it was not made from one. */
async function lockDraftOfSend(
  trx: Transaction<Database>,
  ref: MessageDraftSendRef,
): Promise<MessageDraftRow | undefined> {
  const send = await trx
    .selectFrom('sends')
    .select(['origin', 'content'])
    .where('organization_id', '=', ref.organizationId)
    .where('id', '=', ref.sendId)
    .executeTakeFirst();
  if (send?.origin !== 'message_draft') return undefined;
  const content = messageDraftSendContentSchema.safeParse(send.content);
  if (!content.success) return undefined;
  return trx
    .selectFrom('message_drafts')
    .selectAll()
    .where('organization_id', '=', ref.organizationId)
    .where('id', '=', content.data.message_draft_id)
    .where('send_id', '=', ref.sendId)
    .forUpdate()
    .executeTakeFirst();
}

/** The one delivery of a message-draft send. */
async function deliveryOf(trx: Transaction<Database>, sendId: string) {
  return trx
    .selectFrom('deliveries')
    .select(['status', 'error_code'])
    .where('send_id', '=', sendId)
    .orderBy('id')
    .limit(1)
    .executeTakeFirst();
}

/** What promoting a draft made, or had made before. */
export interface PromotedMessageDraft {
  draftId: string;
  conversationId: number;
  /** False when an earlier call had promoted it already (and this one changed nothing). */
  promoted: boolean;
}

/**
 * Promotes the message draft a send was made from, once its delivery is `sent`, in one
 * transaction (the caller's, if it passes one): a conversation is created with the draft's
 * modality, counterpart and subject (`messageDraftId` set), the draft's message becomes its
 * first outbound message (linked to the send), and the draft becomes `sent` with its
 * `conversation_id`; recorded as a `message_draft.promoted` event. Idempotent: a draft already
 * promoted is left as it is. Undefined, changing nothing, for a send not made from a message
 * draft (any other send is fine to pass), whose draft is gone, or whose delivery is not sent.
 */
export async function promoteSentMessageDraft(
  db: Executor,
  ref: MessageDraftSendRef,
): Promise<PromotedMessageDraft | undefined> {
  return inTransaction(db, async (trx) => {
    const draft = await lockDraftOfSend(trx, ref);
    if (draft === undefined) return undefined;
    if (draft.conversation_id !== null) {
      return { draftId: draft.id, conversationId: draft.conversation_id, promoted: false };
    }
    if ((await deliveryOf(trx, ref.sendId))?.status !== 'sent') return undefined;

    const conversation = await createConversation(trx, {
      organizationId: draft.organization_id,
      modality: draft.modality,
      subject: draft.subject,
      recipientName: draft.recipient_name,
      recipientEmail: draft.recipient_email,
      recipientPhoneNumber: draft.recipient_phone_number,
      messageDraftId: draft.id,
    });
    const message = await appendConversationMessage(trx, {
      organizationId: draft.organization_id,
      conversationId: conversation.id,
      direction: 'outbound',
      subject: draft.subject,
      bodyHtml: draft.body_html,
      sendId: ref.sendId,
      messageDraftId: draft.id,
    });
    await trx
      .updateTable('message_drafts')
      .set({ status: 'sent', conversation_id: conversation.id, updated_at: sql<Date>`now()` })
      .where('id', '=', draft.id)
      .execute();
    await recordEvents(trx, [
      {
        organizationId: draft.organization_id,
        type: 'message_draft.promoted',
        sendId: ref.sendId,
        payload: {
          message_draft_id: draft.id,
          conversation_id: conversation.id,
          conversation_message_id: message.id,
        },
      },
    ]);
    return { draftId: draft.id, conversationId: conversation.id, promoted: true };
  });
}

/**
 * Marks the message draft a send was made from `failed` once its delivery failed (or was
 * canceled), recorded as a `message_draft.failed` event; a failed draft can be deleted. True
 * when it changed; false, changing nothing, for a send not made from a message draft, a draft
 * already failed or promoted, or a delivery that has not failed.
 */
export async function failMessageDraftOfSend(
  db: Executor,
  ref: MessageDraftSendRef,
): Promise<boolean> {
  return inTransaction(db, async (trx) => {
    const draft = await lockDraftOfSend(trx, ref);
    if (draft === undefined || draft.conversation_id !== null) return false;
    if (draft.status !== 'queued' && draft.status !== 'sending') return false;
    const delivery = await deliveryOf(trx, ref.sendId);
    if (delivery?.status !== 'failed' && delivery?.status !== 'canceled') return false;
    await trx
      .updateTable('message_drafts')
      .set({ status: 'failed', updated_at: sql<Date>`now()` })
      .where('id', '=', draft.id)
      .execute();
    await recordEvents(trx, [
      {
        organizationId: draft.organization_id,
        type: 'message_draft.failed',
        sendId: ref.sendId,
        payload: {
          message_draft_id: draft.id,
          delivery_status: delivery.status,
          error_code: delivery.error_code,
        },
      },
    ]);
    return true;
  });
}

async function inTransaction<T>(
  db: Executor,
  work: (trx: Transaction<Database>) => Promise<T>,
): Promise<T> {
  return db.isTransaction ? work(db as Transaction<Database>) : db.transaction().execute(work);
}
