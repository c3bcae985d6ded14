import { z } from 'zod';

/** What both kinds of message-draft send carry besides their message. */
const common = {
  /** Marks the content as a message draft's, so the dispatcher can pick its message builder. */
  kind: z.literal('message_draft'),
  /** The `message_drafts` row the send was made from, in the send's organization. */
  message_draft_id: z.uuid(),
  /** The recipient's display name, if the draft had one. */
  to_name: z.string().min(1).nullable(),
  subject: z.string().nullable(),
  /** The body exactly as the draft holds it; the dispatcher derives any plain text from it. */
  html: z.string().nullable(),
};

/**
 * An `email` send made from an email message draft: one provider call from `from` (the
 * sender's address when the draft was queued) to `to`, with every Cc and Bcc address.
 */
export const messageDraftEmailContentSchema = z.object({
  ...common,
  modality: z.literal('email'),
  from: z.string().min(1),
  to: z.string().min(1),
  cc: z.array(z.string().min(1)),
  bcc: z.array(z.string().min(1)),
});

/** An `sms` send made from a text message draft: one SMS to an E.164 number. */
export const messageDraftTextContentSchema = z.object({
  ...common,
  modality: z.literal('text'),
  to: z.string().regex(/^\+[1-9]\d{1,14}$/, 'an E.164 number such as +14155550100'),
});

/**
 * What a send of origin `message_draft` carries as its `content`: a snapshot of the draft
 * taken when it was queued (a draft cannot change afterwards). It holds everything the
 * dispatcher needs to build the one message, so building it reads nothing else.
 */
export const messageDraftSendContentSchema = z.discriminatedUnion('modality', [
  messageDraftEmailContentSchema,
  messageDraftTextContentSchema,
]);
export type MessageDraftSendContent = z.infer<typeof messageDraftSendContentSchema>;

/**
 * True when a send's content says it was made from a message draft (whether or not the rest
 * of it is valid): such a send's message is built by the message-draft builder.
 */
export function isMessageDraftSend(send: { content: Record<string, unknown> }): boolean {
  return send.content.kind === 'message_draft';
}
