import type { EmailDraftAttachmentInput, EmailDraftChanges } from '@outbound/db';
import { AppError } from '../errors/app-error.ts';
import type { EmailDraftRequest } from '../routes/email-drafts.schema.ts';

/** The size of the bytes a valid, padded base64 string holds, without decoding it. */
function decodedSize(base64: string): number {
  const padding = base64.endsWith('==') ? 2 : base64.endsWith('=') ? 1 : 0;
  return (base64.length / 4) * 3 - padding;
}

/**
 * What a save changes, from a body that passed `emailDraftRequestSchema`: only the fields it
 * gives, attachments decoded. Throws 413 `payload_too_large` when the attachments' decoded
 * total exceeds `maxAttachmentBytes` (checked before anything is decoded).
 */
export function emailDraftChanges(
  body: EmailDraftRequest,
  maxAttachmentBytes: number,
): EmailDraftChanges {
  const changes: EmailDraftChanges = {};
  if (body.from_account_id !== undefined) changes.fromAccountId = body.from_account_id;
  if (body.to !== undefined) changes.to = body.to;
  if (body.cc !== undefined) changes.cc = body.cc;
  if (body.bcc !== undefined) changes.bcc = body.bcc;
  if (body.subject !== undefined) changes.subject = body.subject;
  if (body.body_text !== undefined) changes.bodyText = body.body_text;
  if (body.body_html !== undefined) changes.bodyHtml = body.body_html;
  if (body.context_type !== undefined) changes.contextType = body.context_type;
  if (body.context_id !== undefined) changes.contextId = body.context_id;
  if (body.planned_send_at !== undefined) {
    changes.plannedSendAt = body.planned_send_at === null ? null : new Date(body.planned_send_at);
  }
  if (body.attachments !== undefined) {
    changes.attachments = decodeAttachments(body.attachments, maxAttachmentBytes);
  }
  return changes;
}

function decodeAttachments(
  attachments: NonNullable<EmailDraftRequest['attachments']>,
  maxBytes: number,
): EmailDraftAttachmentInput[] {
  const total = attachments.reduce((sum, file) => sum + decodedSize(file.data_base64), 0);
  if (total > maxBytes) {
    throw AppError.of(
      'payload_too_large',
      `attachments total ${total} bytes once decoded; at most ${maxBytes} are accepted`,
      { limit_bytes: maxBytes, size_bytes: total },
    );
  }
  return attachments.map((file) => ({
    filename: file.filename,
    contentType: file.content_type,
    data: Buffer.from(file.data_base64, 'base64'),
  }));
}
