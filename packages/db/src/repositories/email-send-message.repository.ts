import { z } from 'zod';
import type { Channel } from '@outbound/domain';
import { emailSendContentSchema } from './email-send-content.ts';
import type { Executor } from './executor.ts';

/** A file of an email, with its bytes. */
export interface EmailSendAttachment {
  filename: string;
  contentType: string;
  data: Buffer;
}

/**
 * Everything one email send's single provider call needs, read from Postgres: the addresses,
 * subject and bodies the send snapshotted, and its attachments in order with their bytes.
 * `subject`, `text` and `html` are null when the draft had none; deriving a text part from
 * `html` is left to the caller.
 */
export interface EmailSendMessage {
  from: string;
  to: string[];
  cc: string[];
  bcc: string[];
  subject: string | null;
  text: string | null;
  html: string | null;
  attachments: EmailSendAttachment[];
}

/** The send cannot be turned into an email: retrying will not change that. */
export class EmailSendContentError extends Error {
  override readonly name = 'EmailSendContentError';
}

/**
 * The email a send (of the organization) carries. Throws `EmailSendContentError` when the send
 * is not an email send, its content is not `emailSendContentSchema`, or one of its attachments
 * is gone.
 */
export async function loadEmailSendMessage(
  db: Executor,
  organizationId: string,
  send: { id: string; channel: Channel; content: Record<string, unknown> },
): Promise<EmailSendMessage> {
  if (send.channel !== 'email') {
    throw new EmailSendContentError(`send ${send.id} is a ${send.channel} send, not an email`);
  }
  const parsed = emailSendContentSchema.safeParse(send.content);
  if (!parsed.success) {
    throw new EmailSendContentError(
      `send ${send.id} does not hold email content: ${z.prettifyError(parsed.error).replaceAll('\n', '; ')}`,
    );
  }
  const content = parsed.data;
  const rows =
    content.attachment_ids.length === 0
      ? []
      : await db
          .selectFrom('email_draft_attachments')
          .select(['id', 'filename', 'content_type', 'data'])
          .where('organization_id', '=', organizationId)
          .where('draft_id', '=', content.draft_id)
          .where('id', 'in', content.attachment_ids)
          .execute();
  const byId = new Map(rows.map((row) => [row.id, row]));
  const attachments = content.attachment_ids.map((id): EmailSendAttachment => {
    const row = byId.get(id);
    if (row === undefined) {
      throw new EmailSendContentError(`attachment ${id} of send ${send.id} no longer exists`);
    }
    return { filename: row.filename, contentType: row.content_type, data: row.data };
  });
  return {
    from: content.from,
    to: content.to,
    cc: content.cc,
    bcc: content.bcc,
    subject: content.subject,
    text: content.text,
    html: content.html,
    attachments,
  };
}
