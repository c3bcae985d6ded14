import type { Selectable } from 'kysely';
import type { Modality } from '@outbound/domain';
import type { ConversationMessagesTable, ConversationsTable } from '../database.ts';
import type { Executor } from './executor.ts';

export type Conversation = Selectable<ConversationsTable>;
export type ConversationMessage = Selectable<ConversationMessagesTable>;

export interface CreateConversationOptions {
  organizationId: string;
  modality: Modality;
  subject?: string | null;
  recipientName?: string | null;
  recipientEmail?: string | null;
  recipientPhoneNumber?: string | null;
  /** The message draft whose sending opens the conversation (at most one conversation each). */
  messageDraftId?: string | null;
}

/** A new conversation with a counterpart (its email address or phone number). */
export async function createConversation(
  db: Executor,
  options: CreateConversationOptions,
): Promise<Conversation> {
  return db
    .insertInto('conversations')
    .values({
      organization_id: options.organizationId,
      modality: options.modality,
      subject: options.subject ?? null,
      recipient_name: options.recipientName ?? null,
      recipient_email: options.recipientEmail ?? null,
      recipient_phone_number: options.recipientPhoneNumber ?? null,
      message_draft_id: options.messageDraftId ?? null,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** The organization's conversation, or undefined (also for another organization's). */
export async function findConversation(
  db: Executor,
  organizationId: string,
  conversationId: number,
): Promise<Conversation | undefined> {
  return db
    .selectFrom('conversations')
    .selectAll()
    .where('organization_id', '=', organizationId)
    .where('id', '=', conversationId)
    .executeTakeFirst();
}

export interface AppendConversationMessageOptions {
  organizationId: string;
  conversationId: number;
  direction: 'outbound' | 'inbound';
  subject?: string | null;
  bodyHtml?: string | null;
  /** The send that carries an outbound message. */
  sendId?: string | null;
  messageDraftId?: string | null;
}

/** Records a message in a conversation and moves the conversation's `updated_at`. */
export async function appendConversationMessage(
  db: Executor,
  options: AppendConversationMessageOptions,
): Promise<ConversationMessage> {
  const message = await db
    .insertInto('conversation_messages')
    .values({
      organization_id: options.organizationId,
      conversation_id: options.conversationId,
      direction: options.direction,
      subject: options.subject ?? null,
      body_html: options.bodyHtml ?? null,
      send_id: options.sendId ?? null,
      message_draft_id: options.messageDraftId ?? null,
    })
    .returningAll()
    .executeTakeFirstOrThrow();
  await db
    .updateTable('conversations')
    .set({ updated_at: message.created_at })
    .where('id', '=', options.conversationId)
    .execute();
  return message;
}

/** A conversation's messages, oldest first. */
export async function listConversationMessages(
  db: Executor,
  organizationId: string,
  conversationId: number,
): Promise<ConversationMessage[]> {
  return db
    .selectFrom('conversation_messages')
    .selectAll()
    .where('organization_id', '=', organizationId)
    .where('conversation_id', '=', conversationId)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
}
