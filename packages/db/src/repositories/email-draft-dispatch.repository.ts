import { sql, type Transaction } from 'kysely';
import type { Database, Delivery } from '../database.ts';
import type { EmailDraftRow } from './email-drafts.repository.ts';
import { emailSendContentSchema } from './email-send-content.ts';
import { recordEvents } from './events.repository.ts';
import type { Executor } from './executor.ts';
import { createSend } from './sends.repository.ts';

/** Something a draft lacks that sending it needs. */
export interface EmailDraftProblem {
  /** What is missing: `to`, `subject_or_body`, or the account's address (`from_account_id`). */
  field: 'to' | 'subject_or_body' | 'from_account_id';
  message: string;
}

/** What dispatching a draft did: made its send, or nothing because the draft cannot be sent. */
export type EmailDraftDispatch =
  | { outcome: 'dispatched'; sendId: string; deliveries: Delivery[] }
  | { outcome: 'unsendable'; problems: EmailDraftProblem[] };

export interface DispatchEmailDraftOptions {
  /** When the send is planned: now for a send-now, the draft's `planned_send_at` when due. */
  plannedAt: Date;
  actorUserId?: string | null;
  requestId?: string | null;
}

/**
 * Turns a draft the caller holds locked (`lockEmailDraft` or `claimDueEmailDrafts`, in `trx`)
 * and found editable into a send, in `trx`: an `email` send of origin `email_draft` whose
 * content (`emailSendContentSchema`) snapshots the draft, with exactly ONE queued delivery —
 * one provider call carries every To, Cc and Bcc address; its recipient is the first To
 * address — and links the draft to it (`send_id`, status `sending`). The caller commits, then
 * enqueues `deliveries`.
 *
 * Makes nothing, and says why, when the draft has no To address (Cc and Bcc alone cannot be
 * sent), neither subject nor body (an empty string counts as none), or an account without an
 * address.
 */
export async function dispatchEmailDraft(
  trx: Transaction<Database>,
  draft: EmailDraftRow,
  options: DispatchEmailDraftOptions,
): Promise<EmailDraftDispatch> {
  const account = await trx
    .selectFrom('senders')
    .select('address')
    .where('organization_id', '=', draft.organization_id)
    .where('id', '=', draft.from_account_id)
    .executeTakeFirst();
  const from = account?.address ?? null;
  const problems = emailDraftProblems(draft, from);
  if (from === null || problems.length > 0) return { outcome: 'unsendable', problems };

  const attachments = await trx
    .selectFrom('email_draft_attachments')
    .select('id')
    .where('organization_id', '=', draft.organization_id)
    .where('draft_id', '=', draft.id)
    .orderBy('position')
    .execute();
  const content = emailSendContentSchema.parse({
    draft_id: draft.id,
    from,
    to: draft.to_addresses,
    cc: draft.cc_addresses,
    bcc: draft.bcc_addresses,
    subject: nonEmpty(draft.subject),
    text: nonEmpty(draft.body_text),
    html: nonEmpty(draft.body_html),
    attachment_ids: attachments.map((attachment) => attachment.id),
  });
  const created = await createSend(trx, {
    organizationId: draft.organization_id,
    senderId: draft.from_account_id,
    channel: 'email',
    origin: 'email_draft',
    actorUserId: options.actorUserId ?? null,
    content,
    recipients: [{ recipient: content.to[0] ?? '' }],
    plannedAt: options.plannedAt,
    requestId: options.requestId ?? null,
  });
  const linked = await trx
    .updateTable('email_drafts')
    .set({ send_id: created.send.id, status: 'sending', updated_at: sql<Date>`now()` })
    .where('organization_id', '=', draft.organization_id)
    .where('id', '=', draft.id)
    .where('send_id', 'is', null)
    .executeTakeFirst();
  if (linked.numUpdatedRows === 0n) {
    throw new Error(`email draft ${draft.id} already has a send; it must be locked first`);
  }
  return { outcome: 'dispatched', sendId: created.send.id, deliveries: created.deliveries };
}

/** What keeps a draft from being sent from `from`; empty when nothing does. */
function emailDraftProblems(draft: EmailDraftRow, from: string | null): EmailDraftProblem[] {
  const problems: EmailDraftProblem[] = [];
  if (draft.to_addresses.length === 0) {
    const others = draft.cc_addresses.length + draft.bcc_addresses.length;
    problems.push({
      field: 'to',
      message:
        others > 0
          ? 'to has no address; Cc and Bcc alone cannot be sent'
          : 'the draft has no recipient: to has no address',
    });
  }
  if (
    nonEmpty(draft.subject) === null &&
    nonEmpty(draft.body_text) === null &&
    nonEmpty(draft.body_html) === null
  ) {
    problems.push({
      field: 'subject_or_body',
      message: 'the draft has neither a subject nor a body (body_text or body_html)',
    });
  }
  if (from === null) {
    problems.push({
      field: 'from_account_id',
      message: `account ${draft.from_account_id} has no email address to send from`,
    });
  }
  return problems;
}

/**
 * Locks up to `limit` drafts due at `now` — a `planned_send_at` at or before it, no send, and
 * `draft` or `scheduled` — most overdue first, `FOR UPDATE SKIP LOCKED`: concurrent callers
 * claim disjoint drafts, and a draft being saved or sent now is left for a later poll. The
 * locks last until `trx` ends; a draft moved or cleared before the claim is not due.
 */
export async function claimDueEmailDrafts(
  trx: Transaction<Database>,
  options: { now: Date; limit: number },
): Promise<EmailDraftRow[]> {
  return trx
    .selectFrom('email_drafts')
    .selectAll()
    .where('planned_send_at', 'is not', null)
    .where('planned_send_at', '<=', options.now)
    .where('status', 'in', ['draft', 'scheduled'])
    .where('send_id', 'is', null)
    .orderBy('planned_send_at')
    .limit(options.limit)
    .forUpdate()
    .skipLocked()
    .execute();
}

/**
 * A locked, sendless draft becomes `failed` for good with why (`error_code`, `error_message`),
 * recorded as an `email_draft.failed` event: it is not claimed again. False when the draft
 * had a send meanwhile.
 */
export async function markEmailDraftFailed(
  db: Executor,
  draft: EmailDraftRow,
  error: { code: string; message: string },
): Promise<boolean> {
  const failed = await db
    .updateTable('email_drafts')
    .set({
      status: 'failed',
      error_code: error.code,
      error_message: error.message,
      updated_at: sql<Date>`now()`,
    })
    .where('organization_id', '=', draft.organization_id)
    .where('id', '=', draft.id)
    .where('send_id', 'is', null)
    .executeTakeFirst();
  if (failed.numUpdatedRows === 0n) return false;
  await recordEvents(db, [
    {
      organizationId: draft.organization_id,
      type: 'email_draft.failed',
      payload: { draft_id: draft.id, error_code: error.code },
    },
  ]);
  return true;
}

function nonEmpty(value: string | null): string | null {
  return value === null || value === '' ? null : value;
}
