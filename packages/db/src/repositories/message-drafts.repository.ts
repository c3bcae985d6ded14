import { sql, type Selectable, type Transaction } from 'kysely';
import { type Channel, type MessageDraftStatus, type Modality, newId } from '@outbound/domain';
import type { Database, MessageDraftsTable } from '../database.ts';
import { recordEvents } from './events.repository.ts';
import type { Executor } from './executor.ts';

/** A message draft's own row, as an insert or a lock returns it. */
export type MessageDraftRow = Selectable<MessageDraftsTable>;

/** A new draft; the caller has checked every field and chosen its sender. */
export interface NewMessageDraft {
  organizationId: string;
  modality: Modality;
  senderId: string;
  agentId?: number | null;
  subject: string | null;
  bodyHtml: string | null;
  recipientName: string | null;
  recipientEmail: string | null;
  /** E.164. */
  recipientPhoneNumber: string | null;
  ccEmails: readonly string[];
  bccEmails: readonly string[];
  /** Already normalised (`sales-follow-up`). */
  folder: string;
}

/** Stores a new draft (`draft`, not queued) and returns its row. */
export async function insertMessageDraft(
  db: Executor,
  draft: NewMessageDraft,
): Promise<MessageDraftRow> {
  return db
    .insertInto('message_drafts')
    .values({
      id: newId(),
      organization_id: draft.organizationId,
      modality: draft.modality,
      sender_id: draft.senderId,
      agent_id: draft.agentId ?? null,
      subject: draft.subject,
      body_html: draft.bodyHtml,
      recipient_name: draft.recipientName,
      recipient_email: draft.recipientEmail,
      recipient_phone_number: draft.recipientPhoneNumber,
      cc_emails: [...draft.ccEmails],
      bcc_emails: [...draft.bccEmails],
      folder: draft.folder,
      status: 'draft',
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** The sender channel that delivers each modality. */
export const CHANNEL_OF_MODALITY = {
  email: 'email',
  text: 'sms',
} as const satisfies Record<Modality, Channel>;

/**
 * The sender a new draft of `modality` goes out through: the organization's oldest sender of
 * the modality's channel that is `WORKING` and `sending` (and, for email, has an address to
 * send from); undefined when it has none.
 */
export async function findMessageDraftSender(
  db: Executor,
  organizationId: string,
  modality: Modality,
): Promise<{ id: string; address: string | null } | undefined> {
  let query = db
    .selectFrom('senders')
    .select(['id', 'address'])
    .where('organization_id', '=', organizationId)
    .where('channel', '=', CHANNEL_OF_MODALITY[modality])
    .where('role', '=', 'sending')
    .where('status', '=', 'WORKING');
  if (modality === 'email') query = query.where('address', 'is not', null);
  return query.orderBy('created_at').orderBy('id').limit(1).executeTakeFirst();
}

/**
 * Records that a saved draft is ready for review: a `draft.ready_for_review` notification for
 * the organization's users and an event of the same type, whose payloads name the draft.
 */
export async function notifyMessageDraftReady(
  db: Executor,
  draft: MessageDraftRow,
  payload: Record<string, unknown>,
): Promise<{ notificationId: string; eventId: string }> {
  const notificationId = newId();
  const body = {
    message_draft_id: draft.id,
    modality: draft.modality,
    folder: draft.folder,
    subject: draft.subject,
    ...payload,
  };
  await db
    .insertInto('notifications')
    .values({
      id: notificationId,
      organization_id: draft.organization_id,
      type: 'draft.ready_for_review',
      payload: JSON.stringify(body),
    })
    .execute();
  const [eventId] = await recordEvents(db, [
    {
      organizationId: draft.organization_id,
      type: 'draft.ready_for_review',
      payload: { ...body, notification_id: notificationId },
    },
  ]);
  if (eventId === undefined) throw new Error('recordEvents returned no id');
  return { notificationId, eventId };
}

/**
 * A message draft as the API shows it. Times are RFC 3339 strings to the microsecond (a Date
 * keeps only milliseconds). `status` is derived when read, so it cannot go stale: `sent` once
 * promoted into a conversation; `draft` without a send; otherwise its one delivery's:
 * `queued`, `sending`, `sent` (delivered but not yet promoted) or `failed` (failed or
 * canceled).
 */
export interface MessageDraftRecord {
  id: string;
  organization_id: string;
  modality: Modality;
  sender_id: string;
  agent_id: number | null;
  subject: string | null;
  body_html: string | null;
  recipient_name: string | null;
  recipient_email: string | null;
  recipient_phone_number: string | null;
  cc_emails: string[];
  bcc_emails: string[];
  folder: string;
  status: MessageDraftStatus;
  send_id: string | null;
  conversation_id: number | null;
  scheduled_send_at: string | null;
  created_at: string;
}

/** A timestamptz column as RFC 3339 in UTC, to the microsecond; null stays null. */
const exact = <T extends string | null>(column: string) =>
  sql<T>`to_char(${sql.ref(column)} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

const DERIVED_STATUS = sql<MessageDraftStatus>`(case
  when d.conversation_id is not null then 'sent'
  when d.send_id is null or dl.status is null then d.status
  else case dl.status when 'queued' then 'queued' when 'sending' then 'sending'
                      when 'sent' then 'sent' else 'failed' end
end)`;

function selectDrafts(db: Executor, organizationId: string) {
  return db
    .selectFrom('message_drafts as d')
    .leftJoinLateral(
      (eb) =>
        eb
          .selectFrom('deliveries')
          .select('status')
          .whereRef('deliveries.send_id', '=', 'd.send_id')
          .orderBy('deliveries.id')
          .limit(1)
          .as('dl'),
      (join) => join.onTrue(),
    )
    .select([
      'd.id',
      'd.organization_id',
      'd.modality',
      'd.sender_id',
      'd.agent_id',
      'd.subject',
      'd.body_html',
      'd.recipient_name',
      'd.recipient_email',
      'd.recipient_phone_number',
      'd.cc_emails',
      'd.bcc_emails',
      'd.folder',
      'd.send_id',
      'd.conversation_id',
      DERIVED_STATUS.as('status'),
      exact<string | null>('d.scheduled_send_at').as('scheduled_send_at'),
      exact<string>('d.created_at').as('created_at'),
    ])
    .where('d.organization_id', '=', organizationId);
}

/** One of the organization's drafts, promoted or not; undefined also for another's. */
export async function findMessageDraft(
  db: Executor,
  organizationId: string,
  id: string,
): Promise<MessageDraftRecord | undefined> {
  return selectDrafts(db, organizationId).where('d.id', '=', id).executeTakeFirst();
}

/**
 * Locks one of the organization's drafts (`FOR UPDATE`) until `trx` ends, waiting for whoever
 * holds it (a promotion, a delete); undefined when there is no such draft.
 */
export async function lockMessageDraft(
  trx: Transaction<Database>,
  organizationId: string,
  id: string,
): Promise<MessageDraftRow | undefined> {
  return trx
    .selectFrom('message_drafts')
    .selectAll()
    .where('organization_id', '=', organizationId)
    .where('id', '=', id)
    .forUpdate()
    .executeTakeFirst();
}

/** Deletes one of the organization's drafts; false when there was none. */
export async function deleteMessageDraft(
  db: Executor,
  organizationId: string,
  id: string,
): Promise<boolean> {
  const deleted = await db
    .deleteFrom('message_drafts')
    .where('organization_id', '=', organizationId)
    .where('id', '=', id)
    .executeTakeFirst();
  return deleted.numDeletedRows > 0n;
}

/** Where a page of drafts ended: the last draft's exact `created_at` and its id. */
export interface MessageDraftKeyset {
  createdAt: string;
  id: string;
}

export interface ListMessageDraftsOptions {
  organizationId: string;
  /** Only drafts created at or after this instant (anything `timestamptz` reads). */
  createdFrom?: string;
  /** Only drafts created at or before this instant. */
  createdTo?: string;
  limit: number;
  /** Only drafts after this one in the listing order. */
  after?: MessageDraftKeyset;
}

export interface MessageDraftPage {
  drafts: MessageDraftRecord[];
  /** Where the next page starts; undefined when this page is the last. */
  next?: MessageDraftKeyset;
}

/**
 * The organization's drafts that have not been sent, newest first (ties broken by id,
 * descending), one page at a time. A draft whose delivery is sent is left out even before it
 * is promoted. Drafts created while paging do not appear on later pages; none is listed twice.
 */
export async function listMessageDrafts(
  db: Executor,
  options: ListMessageDraftsOptions,
): Promise<MessageDraftPage> {
  let query = selectDrafts(db, options.organizationId)
    .where('d.conversation_id', 'is', null)
    .where(sql<boolean>`dl.status is distinct from 'sent'`);
  if (options.createdFrom !== undefined) {
    query = query.where(sql<boolean>`d.created_at >= ${options.createdFrom}::timestamptz`);
  }
  if (options.createdTo !== undefined) {
    query = query.where(sql<boolean>`d.created_at <= ${options.createdTo}::timestamptz`);
  }
  const after = options.after;
  if (after !== undefined) {
    query = query.where(
      sql<boolean>`(d.created_at, d.id) < (${after.createdAt}::timestamptz, ${after.id}::uuid)`,
    );
  }
  const rows = await query
    .orderBy('d.created_at', 'desc')
    .orderBy('d.id', 'desc')
    .limit(options.limit + 1)
    .execute();
  const drafts = rows.slice(0, options.limit);
  const last = drafts.at(-1);
  return {
    drafts,
    ...(rows.length > options.limit && last !== undefined
      ? { next: { createdAt: last.created_at, id: last.id } }
      : {}),
  };
}
