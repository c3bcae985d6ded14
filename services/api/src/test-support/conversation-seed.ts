import {
  appendConversationMessage,
  createAgent,
  createConversation,
  type Agent,
  type Db,
} from '@outbound/db';
import {
  conversationDraftListSchema,
  conversationDraftSchema,
} from '../routes/conversation-drafts.schema.ts';
import type { SeededOrganization } from './seed.ts';

/** An agent of the organization. */
export function seedAgent(db: Db, organizationId: string, email: string): Promise<Agent> {
  return createAgent(db, { organizationId, email, name: email.split('@')[0] });
}

/** An email conversation of the organization; returns its id. */
export async function seedConversation(
  db: Db,
  organizationId: string,
  subject = 'Where is my order?',
): Promise<number> {
  const conversation = await createConversation(db, {
    organizationId,
    modality: 'email',
    subject,
    recipientName: 'Diana Prince',
    recipientEmail: 'diana@example.test',
  });
  return conversation.id;
}

/** Adds an inbound message to a conversation. */
export async function seedInboundMessage(
  db: Db,
  organizationId: string,
  conversationId: number,
  bodyHtml: string,
): Promise<void> {
  await appendConversationMessage(db, {
    organizationId,
    conversationId,
    direction: 'inbound',
    subject: 'Re: order',
    bodyHtml,
  });
}

/** Calls the `/v3` routes of a running app as one organization, with `X-API-Key`. */
export function conversationsClient(baseUrl: string, org: SeededOrganization) {
  const headers = { 'X-API-Key': org.key };
  const drafts = (conversationId: number | string) =>
    `${baseUrl}/v3/conversations/${conversationId}/drafts`;
  return {
    createDraft: (conversationId: number | string, body: unknown) =>
      fetch(drafts(conversationId), {
        method: 'POST',
        headers: { ...headers, 'Content-Type': 'application/json' },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      }),
    listDrafts: (conversationId: number | string, query = '') =>
      fetch(`${drafts(conversationId)}${query}`, { headers }),
    getDraft: (conversationId: number | string, draftId: number | string) =>
      fetch(`${drafts(conversationId)}/${draftId}`, { headers }),
    deleteDraft: (conversationId: number | string, draftId: number | string) =>
      fetch(`${drafts(conversationId)}/${draftId}`, { method: 'DELETE', headers }),
    getConversation: (conversationId: number | string) =>
      fetch(`${baseUrl}/v3/conversations/${conversationId}`, { headers }),
    /** Any path, such as a route hint. */
    get: (path: string) => fetch(`${baseUrl}${path}`, { headers }),
  };
}

/** Reads a draft answer, checking it is exactly the documented object. */
export async function readConversationDraft(response: Response) {
  return conversationDraftSchema.strict().parse(await response.json());
}

export async function readConversationDraftList(response: Response) {
  return conversationDraftListSchema.strict().parse(await response.json());
}

/** How many conversation drafts there are, to show a refusal wrote nothing. */
export async function conversationDraftCount(db: Db): Promise<number> {
  const row = await db
    .selectFrom('conversation_drafts')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
