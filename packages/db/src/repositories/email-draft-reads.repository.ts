import { sql } from 'kysely';
import type { EmailDraftStatus } from '@outbound/domain';
import type { Executor } from './executor.ts';

/** What a draft says of one attachment: never its bytes. */
export interface EmailDraftAttachmentMeta {
  id: string;
  filename: string;
  content_type: string;
  size_bytes: number;
}

/** Why a draft failed: its delivery's error, or why it could not be sent when it came due. */
export interface EmailDraftError {
  code: string;
  message: string;
}

/**
 * An email draft as the API shows it. `status` is derived when it is read, so it cannot go
 * stale: without a send it is `failed` (it came due but could not be sent, see `error`),
 * `scheduled` (it has a `planned_send_at`) or `draft`; with a send it follows the send's one
 * delivery: `sending` while queued or being sent (retries included), then `sent`, `failed` or
 * `canceled`.
 */
export interface EmailDraftRecord {
  id: string;
  organization_id: string;
  from_account_id: string;
  /** The account's address now; null only if the account lost its address since. */
  from_email: string | null;
  to: string[];
  cc: string[];
  bcc: string[];
  subject: string | null;
  body_text: string | null;
  body_html: string | null;
  context_type: string | null;
  context_id: string | null;
  planned_send_at: Date | null;
  status: EmailDraftStatus;
  send_id: string | null;
  /** The provider's id of the message, once sent. */
  provider_message_id: string | null;
  /** Only when `status` is `failed`. */
  error: EmailDraftError | null;
  attachments: EmailDraftAttachmentMeta[];
  created_at: Date;
  updated_at: Date;
}

/**
 * Where a page of drafts ended: the last draft's `created_at` to the microsecond (an ISO
 * string, since a Date keeps only milliseconds) and its id.
 */
export interface EmailDraftKeyset {
  createdAt: string;
  id: string;
}

export interface ListEmailDraftsOptions {
  organizationId: string;
  status?: EmailDraftStatus;
  contextType?: string;
  contextId?: string;
  limit: number;
  /** Only drafts after this one in the listing order. */
  after?: EmailDraftKeyset;
}

export interface EmailDraftPage {
  drafts: EmailDraftRecord[];
  /** Where the next page starts; undefined when this page is the last. */
  next?: EmailDraftKeyset;
}

/** The derived status (see `EmailDraftRecord`); `dl` is the send's one delivery. */
const DERIVED_STATUS = sql<EmailDraftStatus>`(case
  when d.send_id is null then
    case when d.status = 'failed' then 'failed'
         when d.planned_send_at is not null then 'scheduled'
         else 'draft' end
  else
    case dl.status when 'sent' then 'sent' when 'failed' then 'failed'
                   when 'canceled' then 'canceled' else 'sending' end
end)`;

/** One of the organization's drafts, or undefined (also for another organization's). */
export async function findEmailDraft(
  db: Executor,
  organizationId: string,
  id: string,
): Promise<EmailDraftRecord | undefined> {
  const row = await selectDrafts(db, organizationId).where('d.id', '=', id).executeTakeFirst();
  if (row === undefined) return undefined;
  const [draft] = await withAttachments(db, organizationId, [row]);
  return draft;
}

/**
 * The organization's drafts, newest first (ties broken by id, descending), one page at a time,
 * optionally only those of a status or a context. Drafts created while paging do not appear
 * on later pages; none is listed twice. A draft whose status changes between pages may be
 * missed by a status filter, as with any listing of moving rows.
 */
export async function listEmailDrafts(
  db: Executor,
  options: ListEmailDraftsOptions,
): Promise<EmailDraftPage> {
  let query = selectDrafts(db, options.organizationId).select(
    sql<string>`to_char(d.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`.as(
      'created_at_exact',
    ),
  );
  if (options.status !== undefined) {
    query = query.where(sql<boolean>`${DERIVED_STATUS} = ${options.status}`);
  }
  if (options.contextType !== undefined) {
    query = query.where('d.context_type', '=', options.contextType);
  }
  if (options.contextId !== undefined) query = query.where('d.context_id', '=', options.contextId);
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
  const page = rows.slice(0, options.limit);
  const last = page.at(-1);
  return {
    drafts: await withAttachments(db, options.organizationId, page),
    ...(rows.length > options.limit && last !== undefined
      ? { next: { createdAt: last.created_at_exact, id: last.id } }
      : {}),
  };
}

function selectDrafts(db: Executor, organizationId: string) {
  return db
    .selectFrom('email_drafts as d')
    .innerJoin('senders as s', (join) =>
      join
        .onRef('s.id', '=', 'd.from_account_id')
        .onRef('s.organization_id', '=', 'd.organization_id'),
    )
    .leftJoinLateral(
      (eb) =>
        eb
          .selectFrom('deliveries')
          .select(['status', 'provider_message_id', 'error_code', 'error_message'])
          .whereRef('deliveries.send_id', '=', 'd.send_id')
          .orderBy('deliveries.id')
          .limit(1)
          .as('dl'),
      (join) => join.onTrue(),
    )
    .select([
      'd.id',
      'd.organization_id',
      'd.from_account_id',
      's.address as from_email',
      'd.to_addresses',
      'd.cc_addresses',
      'd.bcc_addresses',
      'd.subject',
      'd.body_text',
      'd.body_html',
      'd.context_type',
      'd.context_id',
      'd.planned_send_at',
      'd.send_id',
      'd.error_code as draft_error_code',
      'd.error_message as draft_error_message',
      'dl.provider_message_id',
      'dl.error_code as delivery_error_code',
      'dl.error_message as delivery_error_message',
      'd.created_at',
      'd.updated_at',
      DERIVED_STATUS.as('status'),
    ])
    .where('d.organization_id', '=', organizationId);
}

type DraftRow = Awaited<ReturnType<ReturnType<typeof selectDrafts>['executeTakeFirstOrThrow']>>;

async function withAttachments(
  db: Executor,
  organizationId: string,
  rows: readonly DraftRow[],
): Promise<EmailDraftRecord[]> {
  if (rows.length === 0) return [];
  const attachments = await db
    .selectFrom('email_draft_attachments')
    .select(['id', 'draft_id', 'filename', 'content_type', 'size_bytes'])
    .where('organization_id', '=', organizationId)
    .where(
      'draft_id',
      'in',
      rows.map((row) => row.id),
    )
    .orderBy('draft_id')
    .orderBy('position')
    .execute();
  const byDraft = new Map<string, EmailDraftAttachmentMeta[]>();
  for (const { draft_id, ...meta } of attachments) {
    byDraft.set(draft_id, [...(byDraft.get(draft_id) ?? []), meta]);
  }
  return rows.map((row) => toRecord(row, byDraft.get(row.id) ?? []));
}

function toRecord(row: DraftRow, attachments: EmailDraftAttachmentMeta[]): EmailDraftRecord {
  return {
    id: row.id,
    organization_id: row.organization_id,
    from_account_id: row.from_account_id,
    from_email: row.from_email,
    to: row.to_addresses,
    cc: row.cc_addresses,
    bcc: row.bcc_addresses,
    subject: row.subject,
    body_text: row.body_text,
    body_html: row.body_html,
    context_type: row.context_type,
    context_id: row.context_id,
    planned_send_at: row.planned_send_at,
    status: row.status,
    send_id: row.send_id,
    provider_message_id: row.provider_message_id ?? null,
    error: row.status === 'failed' ? errorOf(row) : null,
    attachments,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

function errorOf(row: DraftRow): EmailDraftError | null {
  const code = row.send_id === null ? row.draft_error_code : row.delivery_error_code;
  const message = row.send_id === null ? row.draft_error_message : row.delivery_error_message;
  return code == null ? null : { code, message: message ?? '' };
}
