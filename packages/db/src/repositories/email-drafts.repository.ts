import { sql, type Selectable, type Transaction } from 'kysely';
import { newId } from '@outbound/domain';
import type { Database, EmailDraftsTable } from '../database.ts';
import type { Executor } from './executor.ts';

/** An email draft's own row, as a lock or a claim returns it. */
export type EmailDraftRow = Selectable<EmailDraftsTable>;

/** A file to keep with a draft: its bytes are stored in Postgres beside it. */
export interface EmailDraftAttachmentInput {
  filename: string;
  contentType: string;
  data: Buffer;
}

/**
 * What a save changes: a field left undefined keeps its value, `null` clears it. `to`, `cc`,
 * `bcc` and `attachments` are replaced whole when given.
 */
export interface EmailDraftChanges {
  fromAccountId?: string;
  to?: readonly string[];
  cc?: readonly string[];
  bcc?: readonly string[];
  subject?: string | null;
  bodyText?: string | null;
  bodyHtml?: string | null;
  contextType?: string | null;
  contextId?: string | null;
  plannedSendAt?: Date | null;
  attachments?: readonly EmailDraftAttachmentInput[];
}

export type NewEmailDraft = EmailDraftChanges & { fromAccountId: string };

/**
 * Stores a new draft and its attachments, `scheduled` when it has a `planned_send_at` and
 * `draft` otherwise; returns its id. Checks nothing about the account: the caller has.
 */
export async function createEmailDraft(
  db: Executor,
  organizationId: string,
  draft: NewEmailDraft,
): Promise<string> {
  return inTransaction(db, async (trx) => {
    const id = newId();
    await trx
      .insertInto('email_drafts')
      .values({
        id,
        organization_id: organizationId,
        from_account_id: draft.fromAccountId,
        ...changedColumns(draft),
        status: draft.plannedSendAt == null ? 'draft' : 'scheduled',
      })
      .execute();
    await insertAttachments(trx, organizationId, id, draft.attachments ?? []);
    return id;
  });
}

/**
 * Locks one of the organization's drafts (`FOR UPDATE`) until the caller's transaction ends,
 * waiting for whoever holds it (a poller dispatching it, another save); undefined when there
 * is no such draft. What is read is what the lock protects.
 */
export async function lockEmailDraft(
  trx: Transaction<Database>,
  organizationId: string,
  id: string,
): Promise<EmailDraftRow | undefined> {
  return trx
    .selectFrom('email_drafts')
    .selectAll()
    .where('organization_id', '=', organizationId)
    .where('id', '=', id)
    .forUpdate()
    .executeTakeFirst();
}

/**
 * Whether a draft may still change: it has no send and has not failed, i.e. it is `draft`, or
 * `scheduled` and not yet claimed by the poller.
 */
export function emailDraftIsEditable(draft: EmailDraftRow): boolean {
  return draft.send_id === null && (draft.status === 'draft' || draft.status === 'scheduled');
}

/**
 * Applies `changes` to a draft the caller locked and found editable (`emailDraftIsEditable`).
 * Its stored status follows `planned_send_at` (`scheduled` or `draft`), so setting, moving or
 * clearing it reschedules the draft: the poller reads the current value. `updated_at` moves
 * forward by at least a millisecond; `created_at` stays.
 */
export async function updateEmailDraft(
  trx: Transaction<Database>,
  draft: EmailDraftRow,
  changes: EmailDraftChanges,
): Promise<void> {
  const plannedSendAt =
    changes.plannedSendAt === undefined ? draft.planned_send_at : changes.plannedSendAt;
  const updated = await trx
    .updateTable('email_drafts')
    .set({
      ...(changes.fromAccountId === undefined ? {} : { from_account_id: changes.fromAccountId }),
      ...changedColumns(changes),
      status: plannedSendAt === null ? 'draft' : 'scheduled',
      updated_at: sql<Date>`greatest(clock_timestamp(), updated_at + interval '1 millisecond')`,
    })
    .where('organization_id', '=', draft.organization_id)
    .where('id', '=', draft.id)
    .where('send_id', 'is', null)
    .where('status', 'in', ['draft', 'scheduled'])
    .executeTakeFirst();
  if (updated.numUpdatedRows === 0n) {
    throw new Error(`email draft ${draft.id} is not editable; lock it and check first`);
  }
  if (changes.attachments !== undefined) {
    await trx.deleteFrom('email_draft_attachments').where('draft_id', '=', draft.id).execute();
    await insertAttachments(trx, draft.organization_id, draft.id, changes.attachments);
  }
}

/** Deletes one of the organization's drafts and its attachments; false when there was none. */
export async function deleteEmailDraft(
  db: Executor,
  organizationId: string,
  id: string,
): Promise<boolean> {
  const result = await db
    .deleteFrom('email_drafts')
    .where('organization_id', '=', organizationId)
    .where('id', '=', id)
    .executeTakeFirst();
  return result.numDeletedRows > 0n;
}

function changedColumns(changes: EmailDraftChanges) {
  const columns: Partial<{
    to_addresses: string[];
    cc_addresses: string[];
    bcc_addresses: string[];
    subject: string | null;
    body_text: string | null;
    body_html: string | null;
    context_type: string | null;
    context_id: string | null;
    planned_send_at: Date | null;
  }> = {};
  if (changes.to !== undefined) columns.to_addresses = [...changes.to];
  if (changes.cc !== undefined) columns.cc_addresses = [...changes.cc];
  if (changes.bcc !== undefined) columns.bcc_addresses = [...changes.bcc];
  if (changes.subject !== undefined) columns.subject = changes.subject;
  if (changes.bodyText !== undefined) columns.body_text = changes.bodyText;
  if (changes.bodyHtml !== undefined) columns.body_html = changes.bodyHtml;
  if (changes.contextType !== undefined) columns.context_type = changes.contextType;
  if (changes.contextId !== undefined) columns.context_id = changes.contextId;
  if (changes.plannedSendAt !== undefined) columns.planned_send_at = changes.plannedSendAt;
  return columns;
}

async function insertAttachments(
  trx: Executor,
  organizationId: string,
  draftId: string,
  attachments: readonly EmailDraftAttachmentInput[],
): Promise<void> {
  if (attachments.length === 0) return;
  await trx
    .insertInto('email_draft_attachments')
    .values(
      attachments.map((file, position) => ({
        id: newId(),
        organization_id: organizationId,
        draft_id: draftId,
        position,
        filename: file.filename,
        content_type: file.contentType,
        size_bytes: file.data.length,
        data: file.data,
      })),
    )
    .execute();
}

async function inTransaction<T>(
  db: Executor,
  work: (trx: Transaction<Database>) => Promise<T>,
): Promise<T> {
  return db.isTransaction ? work(db as Transaction<Database>) : db.transaction().execute(work);
}
