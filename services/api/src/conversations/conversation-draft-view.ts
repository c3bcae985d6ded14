import type { ConversationDraft } from '@outbound/db';
import type { ConversationDraftResponse } from '../routes/conversation-drafts.schema.ts';

/** A stored draft as the API answers it. */
export function toConversationDraftResponse(draft: ConversationDraft): ConversationDraftResponse {
  return {
    created: draft.created_at.toISOString(),
    last_updated: draft.updated_at.toISOString(),
    conversation_id: draft.conversation_id,
    id: draft.id,
    title: draft.title,
    // Checked against the documented content object on the way out.
    content: draft.content as ConversationDraftResponse['content'],
    author_id: draft.author_id,
    target_id: draft.target_id,
  };
}
