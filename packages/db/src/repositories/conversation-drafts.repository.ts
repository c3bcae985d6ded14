import { sql, type Selectable } from 'kysely';
import type { ConversationDraftsTable } from '../database.ts';
import type { Executor } from './executor.ts';

/**
 * A helpdesk draft inside a conversation (a "response draft"): written by one agent, aimed at
 * one agent or at everyone (`target_id` null). `content` is the JSON object the API shows.
 */
export type ConversationDraft = Selectable<ConversationDraftsTable>;

export interface CreateConversationDraftOptions {
  organizationId: string;
  /** One of the organization's conversations (the foreign key insists). */
  conversationId: number;
  /** One of the organization's agents. */
  authorId: number;
  /** One of the organization's agents, or null for everyone. */
  targetId: number | null;
  /** At most 250 characters (the table's CHECK). */
  title: string | null;
  content: Record<string, unknown>;
}

export async function createConversationDraft(
  db: Executor,
  options: CreateConversationDraftOptions,
): Promise<ConversationDraft> {
  return db
    .insertInto('conversation_drafts')
    .values({
      organization_id: options.organizationId,
      conversation_id: options.conversationId,
      author_id: options.authorId,
      target_id: options.targetId,
      title: options.title,
      content: JSON.stringify(options.content),
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export interface FindConversationDraftOptions {
  organizationId: string;
  draftId: number;
  /** Only when the draft belongs to this conversation. */
  conversationId?: number;
}

/** The organization's draft, or undefined (also for another organization's, or conversation's). */
export async function findConversationDraft(
  db: Executor,
  options: FindConversationDraftOptions,
): Promise<ConversationDraft | undefined> {
  let query = db
    .selectFrom('conversation_drafts')
    .selectAll()
    .where('organization_id', '=', options.organizationId)
    .where('id', '=', options.draftId);
  if (options.conversationId !== undefined) {
    query = query.where('conversation_id', '=', options.conversationId);
  }
  return query.executeTakeFirst();
}

/**
 * Where a page of drafts ended: the last draft's `created_at` to the microsecond (an ISO
 * string, since a Date keeps only milliseconds) and its id.
 */
export interface ConversationDraftKeyset {
  createdAt: string;
  id: number;
}

export interface ListConversationDraftsOptions {
  organizationId: string;
  conversationId: number;
  limit: number;
  /** Only drafts after this one in the listing order. */
  after?: ConversationDraftKeyset;
}

export interface ConversationDraftPage {
  drafts: ConversationDraft[];
  /** Where the next page starts; undefined when this page is the last. */
  next?: ConversationDraftKeyset;
}

/**
 * A conversation's drafts, newest first (ties broken by id, descending), one page at a time.
 * Drafts created between two pages are not seen by the later pages; none is listed twice.
 */
export async function listConversationDrafts(
  db: Executor,
  options: ListConversationDraftsOptions,
): Promise<ConversationDraftPage> {
  let query = db
    .selectFrom('conversation_drafts as d')
    .selectAll('d')
    .select(
      sql<string>`to_char(d.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`.as(
        'created_at_exact',
      ),
    )
    .where('d.organization_id', '=', options.organizationId)
    .where('d.conversation_id', '=', options.conversationId);
  const after = options.after;
  if (after !== undefined) {
    query = query.where(
      sql<boolean>`(d.created_at, d.id) < (${after.createdAt}::timestamptz, ${after.id}::bigint)`,
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
    drafts: page.map(({ created_at_exact: _, ...draft }) => draft),
    ...(rows.length > options.limit && last !== undefined
      ? { next: { createdAt: last.created_at_exact, id: last.id } }
      : {}),
  };
}

export interface DeleteConversationDraftOptions {
  organizationId: string;
  conversationId: number;
  draftId: number;
}

/** Deletes one draft of one of the organization's conversations; false when there was none. */
export async function deleteConversationDraft(
  db: Executor,
  options: DeleteConversationDraftOptions,
): Promise<boolean> {
  const result = await db
    .deleteFrom('conversation_drafts')
    .where('organization_id', '=', options.organizationId)
    .where('conversation_id', '=', options.conversationId)
    .where('id', '=', options.draftId)
    .executeTakeFirst();
  return result.numDeletedRows > 0n;
}
