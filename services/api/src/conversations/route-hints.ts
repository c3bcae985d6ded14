/**
 * Where conversations and response drafts live, for the routes that serve them and for other
 * routes' 404s that point a caller at them (a promoted message draft → its conversation; a
 * response-draft id given to the message-drafts routes → the response-drafts route).
 */
export const CONVERSATION_PATH = '/v3/conversations/{conversation_id}';
export const RESPONSE_DRAFT_PATH = '/v3/response-drafts/{draft_id}';

/** `/v3/conversations/{id}`: the conversation, with its messages. */
export function conversationRoute(conversationId: number): string {
  return CONVERSATION_PATH.replace('{conversation_id}', String(conversationId));
}

/**
 * `/v3/response-drafts/{id}` for an opaque id made by `encodeOpaqueId('response_draft', id)`
 * (base64url, so it needs no escaping; anything else is escaped rather than trusted).
 */
export function responseDraftRoute(opaqueId: string): string {
  return RESPONSE_DRAFT_PATH.replace('{draft_id}', encodeURIComponent(opaqueId));
}
