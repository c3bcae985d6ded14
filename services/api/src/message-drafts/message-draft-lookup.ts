import type { RequestHandler } from 'express';
import {
  failMessageDraftOfSend,
  findMessageDraft,
  promoteSentMessageDraft,
  type Executor,
  type MessageDraftRecord,
} from '@outbound/db';
import { decodeOpaqueId, isUuid } from '@outbound/domain';
import { findPrincipal } from '../auth/principal.ts';
import { conversationRoute, responseDraftRoute } from '../conversations/route-hints.ts';
import { AppError } from '../errors/app-error.ts';

/**
 * Route middleware (after authentication, before input validation): the path's
 * `organization_id` must be the caller's own, or the answer is 404 whatever the rest of the
 * request holds, as for any other tenant's resource.
 */
export function requireOwnOrganization(): RequestHandler {
  return (req, res, next) => {
    const given = req.params.organization_id;
    const principal = findPrincipal(res);
    if (
      principal === undefined ||
      typeof given !== 'string' ||
      given.toLowerCase() !== principal.organizationId
    ) {
      throw AppError.of('not_found', `organization ${String(given)} not found`, {
        organization_id: typeof given === 'string' ? given : null,
      });
    }
    next();
  };
}

/** 404 for a draft id that names no message draft of the organization, with a hint if given. */
export function messageDraftNotFound(draftId: string, hint?: Record<string, unknown>): AppError {
  return AppError.of(
    'not_found',
    hint === undefined
      ? `message draft ${draftId} not found`
      : `message draft ${draftId} not found: ${String(hint.reason)}; use ${String(hint.route)}`,
    { draft_id: draftId, ...hint },
  );
}

/**
 * The database id of the message draft an encoded `draft_id` names. 404 for anything else; a
 * response draft's id gets a hint to its own route (the id is the same there), since the kind
 * travels inside the id.
 */
export function messageDraftUuid(draftId: string): string {
  const decoded = decodeOpaqueId(draftId);
  if (decoded?.kind === 'response_draft') {
    throw messageDraftNotFound(draftId, {
      reason: 'the id belongs to a response draft',
      route: responseDraftRoute(draftId),
    });
  }
  if (decoded?.kind !== 'message_draft' || !isUuid(decoded.id)) {
    throw messageDraftNotFound(draftId);
  }
  return decoded.id;
}

/**
 * One of the organization's drafts as it stands once its delivery's outcome is applied: a
 * draft whose delivery was sent is promoted now and one whose delivery failed is marked
 * failed, if the dispatcher has not done it yet (both are idempotent). Run it in a
 * transaction holding the draft's lock to act on what it returns.
 */
export async function settledMessageDraft(
  db: Executor,
  organizationId: string,
  id: string,
): Promise<MessageDraftRecord | undefined> {
  const draft = await findMessageDraft(db, organizationId, id);
  if (draft?.send_id == null || draft.conversation_id !== null) return draft;
  const ref = { organizationId, sendId: draft.send_id };
  if (draft.status === 'sent') {
    await promoteSentMessageDraft(db, ref);
  } else if (draft.status === 'failed') {
    await failMessageDraftOfSend(db, ref);
  } else {
    return draft;
  }
  return findMessageDraft(db, organizationId, id);
}

/**
 * The draft if it is still a draft (not sent). 404 otherwise: a promoted draft's with a hint
 * to the conversation it opened.
 */
export function unsentMessageDraft(
  draftId: string,
  draft: MessageDraftRecord | undefined,
): MessageDraftRecord {
  if (draft === undefined) throw messageDraftNotFound(draftId);
  if (draft.status !== 'sent') return draft;
  if (draft.conversation_id === null) throw messageDraftNotFound(draftId);
  throw messageDraftNotFound(draftId, {
    reason: 'it was sent and promoted into a conversation',
    route: conversationRoute(draft.conversation_id),
    conversation_id: draft.conversation_id,
  });
}
