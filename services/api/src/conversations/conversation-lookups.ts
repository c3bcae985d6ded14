import { findConversation, type Conversation, type Executor } from '@outbound/db';
import { AppError } from '../errors/app-error.ts';

/** The organization's conversation; 404 naming it otherwise (also for another organization's). */
export async function requireConversation(
  db: Executor,
  organizationId: string,
  conversationId: number,
): Promise<Conversation> {
  const conversation = await findConversation(db, organizationId, conversationId);
  if (conversation === undefined) {
    throw AppError.of('not_found', `conversation ${conversationId} not found`, {
      conversation_id: conversationId,
    });
  }
  return conversation;
}

/** The 404 for a draft that is not one of the organization's (in that conversation). */
export function conversationDraftNotFound(draftId: number | string): AppError {
  return AppError.of('not_found', `draft ${draftId} not found`, { draft_id: draftId });
}
