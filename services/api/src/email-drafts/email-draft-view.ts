import type { EmailDraftRecord } from '@outbound/db';
import type { EmailDraftResponse } from '../routes/email-drafts.schema.ts';

/** A stored draft as the API answers it: RFC 3339 times, nulls where unset, no bytes. */
export function toEmailDraftResponse(draft: EmailDraftRecord): EmailDraftResponse {
  return {
    uid: draft.id,
    from_account_id: draft.from_account_id,
    from_email: draft.from_email,
    to: draft.to,
    cc: draft.cc,
    bcc: draft.bcc,
    subject: draft.subject,
    body_text: draft.body_text,
    body_html: draft.body_html,
    context_type: draft.context_type,
    context_id: draft.context_id,
    planned_send_at: draft.planned_send_at?.toISOString() ?? null,
    status: draft.status,
    created_at: draft.created_at.toISOString(),
    updated_at: draft.updated_at.toISOString(),
    attachments: draft.attachments,
    send_id: draft.send_id,
    provider_message_id: draft.provider_message_id,
    error: draft.error,
  };
}
