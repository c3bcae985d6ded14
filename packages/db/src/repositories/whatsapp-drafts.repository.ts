import { sql } from 'kysely';
import { z } from 'zod';
import { newId } from '@outbound/domain';
import type { Executor } from './executor.ts';

/**
 * A media item as a draft keeps it. `sha256`, `size_bytes`, `storage_key` and
 * `media_object_id` are there only when the URL is one of Outbound's own media objects; any
 * other URL is kept as given and never fetched.
 */
export const whatsappDraftMediaSchema = z.object({
  url: z.string(),
  mimetype: z.string(),
  filename: z.string().optional(),
  sha256: z.string().optional(),
  size_bytes: z.number().int().nonnegative().optional(),
  storage_key: z.string().optional(),
  media_object_id: z.uuid().optional(),
});
export type WhatsappDraftMedia = z.infer<typeof whatsappDraftMediaSchema>;

/** A draft's schedule, stored as the caller gave it; nothing runs it. */
export const whatsappDraftScheduleSchema = z.object({
  first_run_at_ms: z.number().int(),
  interval_ms: z.number().int().optional(),
  max_occurrences: z.number().int().optional(),
});
export type WhatsappDraftSchedule = z.infer<typeof whatsappDraftScheduleSchema>;

/** Whose drafts: every function here sees only the drafts of one actor of one organization. */
export interface WhatsappDraftOwner {
  organizationId: string;
  actorUserId: string;
}

/** What a draft holds; a save replaces all of it. */
export interface WhatsappDraftContent {
  sessionId: string;
  groupIds: readonly string[];
  text: string;
  media: readonly WhatsappDraftMedia[];
  schedule: WhatsappDraftSchedule | null;
}

/** A draft with the name and label of its session, as the API shows it. */
export interface WhatsappDraftRecord {
  id: string;
  organization_id: string;
  actor_user_id: string;
  session_id: string;
  session_name: string;
  session_label: string;
  group_ids: string[];
  text: string;
  media: WhatsappDraftMedia[];
  schedule: WhatsappDraftSchedule | null;
  created_at: Date;
  updated_at: Date;
}

/**
 * Where a page of drafts ended: the last draft's `updated_at` to the microsecond (an ISO
 * string, since a Date keeps only milliseconds) and its id.
 */
export interface WhatsappDraftKeyset {
  updatedAt: string;
  id: string;
}

export interface ListWhatsappDraftsOptions {
  owner: WhatsappDraftOwner;
  /** Only drafts of this session. */
  sessionId?: string;
  limit: number;
  /** Only drafts after this one in the listing order. */
  after?: WhatsappDraftKeyset;
}

export interface WhatsappDraftPage {
  drafts: WhatsappDraftRecord[];
  /** Where the next page starts; undefined when this page is the last. */
  next?: WhatsappDraftKeyset;
}

const DRAFT_COLUMNS = [
  'd.id',
  'd.organization_id',
  'd.actor_user_id',
  'd.session_id',
  'senders.name as session_name',
  'senders.label as session_label',
  'd.group_ids',
  'd.text',
  'd.media',
  'd.schedule',
  'd.created_at',
  'd.updated_at',
] as const;

/** A stored draft, with its session's name and label. */
export async function createWhatsappDraft(
  db: Executor,
  owner: WhatsappDraftOwner,
  content: WhatsappDraftContent,
): Promise<WhatsappDraftRecord> {
  const row = await db
    .with('d', (qb) =>
      qb
        .insertInto('whatsapp_drafts')
        .values({
          id: newId(),
          organization_id: owner.organizationId,
          actor_user_id: owner.actorUserId,
          ...contentColumns(content),
        })
        .returningAll(),
    )
    .selectFrom('d')
    .innerJoin('senders', (join) =>
      join
        .onRef('senders.id', '=', 'd.session_id')
        .onRef('senders.organization_id', '=', 'd.organization_id'),
    )
    .select(DRAFT_COLUMNS)
    .executeTakeFirstOrThrow();
  return toRecord(row);
}

/** One of the owner's drafts, or undefined (also when it is another actor's). */
export async function findWhatsappDraft(
  db: Executor,
  owner: WhatsappDraftOwner,
  id: string,
): Promise<WhatsappDraftRecord | undefined> {
  const row = await selectDrafts(db, owner).where('d.id', '=', id).executeTakeFirst();
  return row === undefined ? undefined : toRecord(row);
}

/**
 * The owner's drafts, most recently updated first (ties broken by id, descending), one page at
 * a time. A draft saved between two pages moves to the front and is not seen again by the
 * later pages; no draft is listed twice or skipped otherwise.
 */
export async function listWhatsappDrafts(
  db: Executor,
  options: ListWhatsappDraftsOptions,
): Promise<WhatsappDraftPage> {
  let query = selectDrafts(db, options.owner).select(
    sql<string>`to_char(d.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`.as(
      'updated_at_exact',
    ),
  );
  if (options.sessionId !== undefined) query = query.where('d.session_id', '=', options.sessionId);
  const after = options.after;
  if (after !== undefined) {
    query = query.where(
      sql<boolean>`(d.updated_at, d.id) < (${after.updatedAt}::timestamptz, ${after.id}::uuid)`,
    );
  }
  const rows = await query
    .orderBy('d.updated_at', 'desc')
    .orderBy('d.id', 'desc')
    .limit(options.limit + 1)
    .execute();
  const page = rows.slice(0, options.limit);
  const last = page.at(-1);
  return {
    drafts: page.map(({ updated_at_exact: _, ...row }) => toRecord(row)),
    ...(rows.length > options.limit && last !== undefined
      ? { next: { updatedAt: last.updated_at_exact, id: last.id } }
      : {}),
  };
}

/**
 * Replaces the content of one of the owner's drafts; undefined when there is no such draft.
 * `updated_at` moves forward by at least a millisecond, so a save is always visible in
 * `updated_at_ms`; `created_at` stays.
 */
export async function updateWhatsappDraft(
  db: Executor,
  owner: WhatsappDraftOwner,
  id: string,
  content: WhatsappDraftContent,
): Promise<WhatsappDraftRecord | undefined> {
  const row = await db
    .with('d', (qb) =>
      qb
        .updateTable('whatsapp_drafts')
        .set({
          ...contentColumns(content),
          updated_at: sql<Date>`greatest(clock_timestamp(), updated_at + interval '1 millisecond')`,
        })
        .where('organization_id', '=', owner.organizationId)
        .where('actor_user_id', '=', owner.actorUserId)
        .where('id', '=', id)
        .returningAll(),
    )
    .selectFrom('d')
    .innerJoin('senders', (join) =>
      join
        .onRef('senders.id', '=', 'd.session_id')
        .onRef('senders.organization_id', '=', 'd.organization_id'),
    )
    .select(DRAFT_COLUMNS)
    .executeTakeFirst();
  return row === undefined ? undefined : toRecord(row);
}

/** Deletes one of the owner's drafts; false when there was no such draft. */
export async function deleteWhatsappDraft(
  db: Executor,
  owner: WhatsappDraftOwner,
  id: string,
): Promise<boolean> {
  const result = await db
    .deleteFrom('whatsapp_drafts')
    .where('organization_id', '=', owner.organizationId)
    .where('actor_user_id', '=', owner.actorUserId)
    .where('id', '=', id)
    .executeTakeFirst();
  return result.numDeletedRows > 0n;
}

/** What a draft keeps of a media object it points at: its metadata, never its bytes. */
export interface DraftableMediaObject {
  id: string;
  mimetype: string;
  filename: string | null;
  sha256: string;
  size_bytes: number;
  storage_key: string;
}

/**
 * Those of `ids` that are media objects of the organization, without their bytes (a draft
 * save only records what they are). Unknown ids and other organizations' are simply missing.
 */
export async function findMediaForDrafts(
  db: Executor,
  organizationId: string,
  ids: readonly string[],
): Promise<DraftableMediaObject[]> {
  if (ids.length === 0) return [];
  return db
    .selectFrom('media_objects')
    .select(['id', 'mimetype', 'filename', 'sha256', 'size_bytes', 'storage_key'])
    .where('organization_id', '=', organizationId)
    .where('id', 'in', [...ids])
    .execute();
}

function selectDrafts(db: Executor, owner: WhatsappDraftOwner) {
  return db
    .selectFrom('whatsapp_drafts as d')
    .innerJoin('senders', (join) =>
      join
        .onRef('senders.id', '=', 'd.session_id')
        .onRef('senders.organization_id', '=', 'd.organization_id'),
    )
    .select(DRAFT_COLUMNS)
    .where('d.organization_id', '=', owner.organizationId)
    .where('d.actor_user_id', '=', owner.actorUserId);
}

function contentColumns(content: WhatsappDraftContent) {
  return {
    session_id: content.sessionId,
    group_ids: [...content.groupIds],
    text: content.text,
    media: JSON.stringify(content.media),
    schedule: content.schedule === null ? null : JSON.stringify(content.schedule),
  };
}

type DraftRow = Omit<WhatsappDraftRecord, 'media' | 'schedule'> & {
  media: unknown;
  schedule: unknown;
};

function toRecord(row: DraftRow): WhatsappDraftRecord {
  return {
    ...row,
    media: z.array(whatsappDraftMediaSchema).parse(row.media),
    schedule: whatsappDraftScheduleSchema.nullable().parse(row.schedule),
  };
}
