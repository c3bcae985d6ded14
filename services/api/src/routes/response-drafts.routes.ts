import { findConversationDraft, type Db } from '@outbound/db';
import { decodeOpaqueId } from '@outbound/domain';
import { z } from 'zod';
import { isIntegerId } from '../conversations/conversation-ids.ts';
import { toConversationDraftResponse } from '../conversations/conversation-draft-view.ts';
import { conversationDraftNotFound } from '../conversations/conversation-lookups.ts';
import { RESPONSE_DRAFT_PATH } from '../conversations/route-hints.ts';
import { AppError } from '../errors/app-error.ts';
import { errorResponseSchema } from '../errors/error-response.schema.ts';
import { defineRoute, type Route } from '../routing/route.ts';
import { validationFailed } from '../routing/validate-input.ts';
import { CONVERSATION_TAGS } from './conversation-drafts.routes.ts';
import { conversationDraftSchema } from './conversation-drafts.schema.ts';

const paramsSchema = z.object({
  draft_id: z.string().min(1).max(120).meta({
    description: "The draft's opaque id (`ob_…`, as route hints give it) or its integer `id`.",
  }),
});

/**
 * The integer id a response-draft path names. 400 when it is neither an opaque id nor an
 * integer; 404 when it is an opaque id of another kind (a message draft's, an agent's) or names
 * nothing a response draft could be.
 */
function responseDraftId(draftId: string): number {
  if (isIntegerId(draftId)) return Number(draftId);
  const decoded = decodeOpaqueId(draftId);
  if (decoded === undefined) {
    throw validationFailed([
      {
        location: 'params',
        path: 'draft_id',
        code: 'invalid_draft_id',
        message: 'draft_id must be a response-draft id (ob_…) or a positive integer',
      },
    ]);
  }
  if (decoded.kind !== 'response_draft') {
    throw AppError.of('not_found', `${draftId} is a ${decoded.kind} id, not a response draft's`, {
      draft_id: draftId,
      kind: decoded.kind,
    });
  }
  if (!isIntegerId(decoded.id)) throw conversationDraftNotFound(draftId);
  return Number(decoded.id);
}

/** `GET /v3/response-drafts/{draft_id}`: a conversation draft found by its id alone. */
export function responseDraftsRoutes(deps: { db: Db }): Route[] {
  const get = defineRoute({
    method: 'get',
    path: RESPONSE_DRAFT_PATH,
    operationId: 'getResponseDraft',
    summary: 'One response draft, by its opaque or integer id',
    description:
      'A response draft is a draft inside a conversation (see ' +
      '`POST /v3/conversations/{conversation_id}/drafts`); this answers the same object. ' +
      "Another organization's draft, and an opaque id of another kind, are 404s.",
    tags: CONVERSATION_TAGS,
    auth: 'api-key',
    request: { params: paramsSchema },
    responses: {
      200: { description: 'The draft.', schema: conversationDraftSchema },
      404: { description: 'No such response draft of yours.', schema: errorResponseSchema },
    },
  }).handle(async ({ params, principal }) => {
    const draft = await findConversationDraft(deps.db, {
      organizationId: principal.organizationId,
      draftId: responseDraftId(params.draft_id),
    });
    if (draft === undefined) throw conversationDraftNotFound(params.draft_id);
    return { status: 200, body: toConversationDraftResponse(draft) };
  });
  return [get];
}
