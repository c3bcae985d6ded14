import { listConversationMessages, type Db } from '@outbound/db';
import { requireConversation } from '../conversations/conversation-lookups.ts';
import { CONVERSATION_PATH } from '../conversations/route-hints.ts';
import { errorResponseSchema } from '../errors/error-response.schema.ts';
import { defineRoute, type Route } from '../routing/route.ts';
import { CONVERSATION_TAGS, conversationDraftsRoutes } from './conversation-drafts.routes.ts';
import { conversationParamsSchema } from './conversation-drafts.schema.ts';
import { conversationSchema } from './conversations.schema.ts';
import { responseDraftsRoutes } from './response-drafts.routes.ts';

export interface ConversationsRoutesDeps {
  db: Db;
}

/**
 * Everything under `/v3`: a conversation, its drafts, and response drafts by id. The one
 * entry point `app.ts` mounts.
 */
export function conversationsRoutes(deps: ConversationsRoutesDeps): Route[] {
  const get = defineRoute({
    method: 'get',
    path: CONVERSATION_PATH,
    operationId: 'getConversation',
    summary: 'One conversation, with its messages',
    description:
      'Messages are oldest first. A message draft that was sent leads here (its conversation).',
    tags: CONVERSATION_TAGS,
    auth: 'api-key',
    request: { params: conversationParamsSchema },
    responses: {
      200: { description: 'The conversation.', schema: conversationSchema },
      404: { description: 'The conversation is not yours.', schema: errorResponseSchema },
    },
  }).handle(async ({ params, principal }) => {
    const { organizationId } = principal;
    const conversation = await requireConversation(deps.db, organizationId, params.conversation_id);
    const messages = await listConversationMessages(deps.db, organizationId, conversation.id);
    return {
      status: 200,
      body: {
        id: conversation.id,
        modality: conversation.modality,
        subject: conversation.subject,
        recipient_name: conversation.recipient_name,
        recipient_email: conversation.recipient_email,
        recipient_phone_number: conversation.recipient_phone_number,
        created: conversation.created_at.toISOString(),
        last_updated: conversation.updated_at.toISOString(),
        messages: messages.map((message) => ({
          id: message.id,
          direction: message.direction,
          subject: message.subject,
          body_html: message.body_html,
          send_id: message.send_id,
          created: message.created_at.toISOString(),
        })),
      },
    };
  });

  return [get, ...conversationDraftsRoutes(deps), ...responseDraftsRoutes(deps)];
}
