import {
  createConversationDraft,
  deleteConversationDraft,
  findConversationDraft,
  listConversationDrafts,
  type Db,
} from '@outbound/db';
import { missingAuthor, resolveDraftAgent } from '../conversations/conversation-draft-agents.ts';
import {
  decodeConversationDraftCursor,
  encodeConversationDraftCursor,
} from '../conversations/conversation-draft-cursor.ts';
import { toConversationDraftResponse } from '../conversations/conversation-draft-view.ts';
import {
  conversationDraftNotFound,
  requireConversation,
} from '../conversations/conversation-lookups.ts';
import { CONVERSATION_PATH } from '../conversations/route-hints.ts';
import { errorResponseSchema } from '../errors/error-response.schema.ts';
import { defineRoute, type Route } from '../routing/route.ts';
import {
  conversationDraftListQuerySchema,
  conversationDraftListSchema,
  conversationDraftParamsSchema,
  conversationDraftRequestSchema,
  conversationDraftSchema,
  conversationParamsSchema,
} from './conversation-drafts.schema.ts';
import { paginationOf } from '../routing/pagination.ts';

export interface ConversationDraftsRoutesDeps {
  db: Db;
}

export const CONVERSATION_TAGS = ['conversations'];

const DRAFTS_PATH = `${CONVERSATION_PATH}/drafts` as const;
const DRAFT_PATH = `${DRAFTS_PATH}/{draft_id}` as const;

const CREATE_DESCRIPTION = `Creates a draft within the conversation, written by an agent of your
organization and optionally aimed at one (no target means everyone).

- The author is \`author_id\` or \`author_email\` (one is required: 400 \`validation_failed\`
  on \`author_id\` otherwise); the target is \`target_id\` or \`target_email\`. When an id and
  an email are both given they must name the same agent (400 on the email field otherwise).
- An id or email that names no agent of your organization is a 404 \`not_found\` whose
  \`details.field\` names the field (\`author_id\`, \`author_email\`, \`target_id\` or
  \`target_email\`).
- A conversation that is not yours is a 404 with \`details.conversation_id\`.
- \`title\` is at most 250 characters. Unknown fields are refused (400 naming them); \`null\`
  counts as absent. Nothing is written when the request is refused.

The answer's \`content\` is an object: \`{"content": "<the string given>"}\`.`;

const conversationNotFound = {
  404: { description: 'The conversation is not yours.', schema: errorResponseSchema },
} as const;

const draftNotFound = {
  404: {
    description: 'The conversation, or the draft in it, is not yours.',
    schema: errorResponseSchema,
  },
} as const;

/**
 * Helpdesk drafts inside a conversation: `/v3/conversations/{conversation_id}/drafts` and
 * `/v3/conversations/{conversation_id}/drafts/{draft_id}`.
 */
export function conversationDraftsRoutes(deps: ConversationDraftsRoutesDeps): Route[] {
  const create = defineRoute({
    method: 'post',
    path: DRAFTS_PATH,
    operationId: 'createConversationDraft',
    summary: 'Create a new draft',
    description: CREATE_DESCRIPTION,
    tags: CONVERSATION_TAGS,
    auth: 'api-key',
    request: { params: conversationParamsSchema, body: conversationDraftRequestSchema },
    responses: {
      201: { description: 'Draft created successfully.', schema: conversationDraftSchema },
      404: {
        description:
          'The conversation is not yours (`details.conversation_id`), or an agent field names ' +
          'no agent of your organization (`details.field`).',
        schema: errorResponseSchema,
      },
    },
  }).handle(async ({ params, body, principal }) => {
    const { organizationId } = principal;
    // Checked with the rest of the body, before anything is looked up.
    if (body.author_id == null && body.author_email == null) throw missingAuthor();
    await requireConversation(deps.db, organizationId, params.conversation_id);
    const author = await resolveDraftAgent(deps.db, organizationId, 'author', {
      id: body.author_id,
      email: body.author_email,
    });
    const target = await resolveDraftAgent(deps.db, organizationId, 'target', {
      id: body.target_id,
      email: body.target_email,
    });
    if (author === undefined) throw missingAuthor();
    const draft = await createConversationDraft(deps.db, {
      organizationId,
      conversationId: params.conversation_id,
      authorId: author.id,
      targetId: target?.id ?? null,
      title: body.title ?? null,
      content: { content: body.content },
    });
    return { status: 201, body: toConversationDraftResponse(draft) };
  });

  const list = defineRoute({
    method: 'get',
    path: DRAFTS_PATH,
    operationId: 'listConversationDrafts',
    summary: "A conversation's drafts, newest first",
    description:
      'Ordered by `created` then `id`, both descending. Pass `next_cursor` as `cursor` for the ' +
      'next page of the same conversation; a cursor that is garbled or from another ' +
      'conversation is a 400.',
    tags: CONVERSATION_TAGS,
    auth: 'api-key',
    request: { params: conversationParamsSchema, query: conversationDraftListQuerySchema },
    responses: {
      200: { description: 'One page of drafts.', schema: conversationDraftListSchema },
      ...conversationNotFound,
    },
  }).handle(async ({ params, query, principal }) => {
    const conversationId = params.conversation_id;
    const after =
      query.cursor === undefined
        ? undefined
        : decodeConversationDraftCursor(query.cursor, conversationId);
    await requireConversation(deps.db, principal.organizationId, conversationId);
    const page = await listConversationDrafts(deps.db, {
      organizationId: principal.organizationId,
      conversationId,
      limit: query.limit,
      ...(after === undefined ? {} : { after }),
    });
    return {
      status: 200,
      body: {
        data: page.drafts.map(toConversationDraftResponse),
        pagination: paginationOf(
          query,
          page.next === undefined
            ? undefined
            : encodeConversationDraftCursor(page.next, conversationId),
        ),
      },
    };
  });

  const get = defineRoute({
    method: 'get',
    path: DRAFT_PATH,
    operationId: 'getConversationDraft',
    summary: 'One draft of a conversation',
    tags: CONVERSATION_TAGS,
    auth: 'api-key',
    request: { params: conversationDraftParamsSchema },
    responses: {
      200: { description: 'The draft.', schema: conversationDraftSchema },
      ...draftNotFound,
    },
  }).handle(async ({ params, principal }) => {
    await requireConversation(deps.db, principal.organizationId, params.conversation_id);
    const draft = await findConversationDraft(deps.db, {
      organizationId: principal.organizationId,
      conversationId: params.conversation_id,
      draftId: params.draft_id,
    });
    if (draft === undefined) throw conversationDraftNotFound(params.draft_id);
    return { status: 200, body: toConversationDraftResponse(draft) };
  });

  const remove = defineRoute({
    method: 'delete',
    path: DRAFT_PATH,
    operationId: 'deleteConversationDraft',
    summary: 'Delete one draft of a conversation',
    tags: CONVERSATION_TAGS,
    auth: 'api-key',
    request: { params: conversationDraftParamsSchema },
    responses: { 204: { description: 'Deleted.' }, ...draftNotFound },
  }).handle(async ({ params, principal }) => {
    await requireConversation(deps.db, principal.organizationId, params.conversation_id);
    const deleted = await deleteConversationDraft(deps.db, {
      organizationId: principal.organizationId,
      conversationId: params.conversation_id,
      draftId: params.draft_id,
    });
    if (!deleted) throw conversationDraftNotFound(params.draft_id);
    return { status: 204 };
  });

  return [create, list, get, remove];
}
