import { z } from 'zod';

/**
 * What an email send (`channel 'email'`) carries, as its `content`: a snapshot of the draft it
 * came from, taken when the draft was dispatched. The one delivery of such a send is one
 * provider call carrying every To, Cc and Bcc address.
 *
 * Attachments are referenced, not copied: `attachment_ids` name rows of
 * `email_draft_attachments` of the same draft, in order. A draft cannot change once it has a
 * send, and cannot be deleted while its delivery is unfinished, so the rows stay as they were.
 * `loadEmailSendMessage` reads them back with their bytes.
 */
export const emailSendContentSchema = z.object({
  draft_id: z.uuid(),
  /** The sending account's address (`senders.address`) when the draft was dispatched. */
  from: z.string().min(1),
  to: z.array(z.string()).min(1),
  cc: z.array(z.string()),
  bcc: z.array(z.string()),
  subject: z.string().nullable(),
  text: z.string().nullable(),
  html: z.string().nullable(),
  attachment_ids: z.array(z.uuid()),
});
export type EmailSendContent = z.infer<typeof emailSendContentSchema>;
