import type { MessageDraftRecord } from '@outbound/db';
import { encodeOpaqueId } from '@outbound/domain';
import type { MessageDraftResponse } from '../routes/message-drafts.schema.ts';

/** A draft's id as callers see it. */
export function messageDraftId(draft: { id: string }): string {
  return encodeOpaqueId('message_draft', draft.id);
}

/** A stored, unsent draft as the detail and list routes answer it. */
export function toMessageDraftResponse(draft: MessageDraftRecord): MessageDraftResponse {
  if (draft.status === 'sent') throw new Error(`message draft ${draft.id} was sent`);
  return {
    draft_id: messageDraftId(draft),
    subject: draft.subject,
    body_html: draft.body_html,
    modality: draft.modality,
    agent_id: draft.agent_id === null ? null : encodeOpaqueId('agent', draft.agent_id),
    recipient_name: draft.recipient_name,
    recipient_email: draft.recipient_email,
    recipient_phone_number: draft.recipient_phone_number,
    cc_emails: draft.cc_emails,
    bcc_emails: draft.bcc_emails,
    scheduled_send_at: draft.scheduled_send_at,
    folder: draft.folder,
    created_at: draft.created_at,
    status: draft.status,
  };
}
