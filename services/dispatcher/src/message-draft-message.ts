import { convert } from 'html-to-text';
import { z } from 'zod';
import { type EmailMessage, PermanentDeliveryError, type SmsMessage } from '@outbound/channels';
import {
  type DeliveryForSending,
  type MessageDraftSendContent,
  messageDraftSendContentSchema,
} from '@outbound/db';
import { textFromHtml } from './email-delivery-message.ts';

/** The longest SMS body the SMS channel takes (`smsMessageSchema`), segments included. */
export const SMS_MAX_CHARACTERS = 1_600;

/** What the SMS channel shows of a recipient's name at most (`recipientName`). */
const NAME_MAX = 256;

/**
 * The plain text of an HTML body as an SMS carries it: as `textFromHtml`, but without lines
 * wrapped at 80 columns (a phone wraps for itself) and trimmed.
 */
export function smsTextFromHtml(html: string): string {
  return convert(html, {
    wordwrap: false,
    selectors: [
      { selector: 'img', format: 'skip' },
      { selector: 'a', options: { hideLinkHrefIfSameAsText: true } },
    ],
  }).trim();
}

/**
 * The message a delivery of a message-draft send sends (see `isMessageDraftSend`), built from
 * the send's content alone (`messageDraftSendContentSchema`, a snapshot of the draft):
 *
 * - email → one `email` message from the sender's address (as it was when the draft was
 *   queued) to the recipient, with its Cc and Bcc, the subject, the HTML body unchanged and a
 *   text part derived from it (`textFromHtml`);
 * - text → one `sms` message to the E.164 number, whose text is the body's plain text, or the
 *   subject when the body has none.
 *
 * Throws a permanent `invalid_message` when the content is not a message draft's, does not
 * match the send's channel, or makes an SMS with no text or more than
 * `SMS_MAX_CHARACTERS`: sending again cannot change that.
 */
export function messageDraftDeliveryMessage(
  send: DeliveryForSending['send'],
): EmailMessage | SmsMessage {
  const parsed = messageDraftSendContentSchema.safeParse(send.content);
  if (!parsed.success) {
    throw new PermanentDeliveryError(
      'invalid_message',
      `send ${send.id} does not hold message draft content: ${z.prettifyError(parsed.error).replaceAll('\n', '; ')}`,
    );
  }
  const content = parsed.data;
  const channel = content.modality === 'email' ? 'email' : 'sms';
  if (send.channel !== channel) {
    throw new PermanentDeliveryError(
      'invalid_message',
      `send ${send.id} is a ${send.channel} send but holds a ${content.modality} message draft`,
    );
  }
  return content.modality === 'email' ? emailMessage(content) : smsMessage(send.id, content);
}

type EmailContent = Extract<MessageDraftSendContent, { modality: 'email' }>;
type TextContent = Extract<MessageDraftSendContent, { modality: 'text' }>;

function recipientName(content: MessageDraftSendContent): { recipientName?: string } {
  return content.to_name === null ? {} : { recipientName: content.to_name.slice(0, NAME_MAX) };
}

function emailMessage(content: EmailContent): EmailMessage {
  const text = content.html === null ? '' : textFromHtml(content.html);
  return {
    channel: 'email',
    from: { address: content.from },
    to: [content.to],
    cc: content.cc,
    bcc: content.bcc,
    ...recipientName(content),
    subject: content.subject ?? '',
    ...(text === '' ? {} : { text }),
    ...(content.html === null ? {} : { html: content.html }),
    attachments: [],
  };
}

function smsMessage(sendId: string, content: TextContent): SmsMessage {
  const body = content.html === null ? '' : smsTextFromHtml(content.html);
  const text = body === '' ? (content.subject ?? '').trim() : body;
  if (text === '') {
    throw new PermanentDeliveryError(
      'invalid_message',
      `send ${sendId} has no text to send: its draft's body and subject are empty`,
    );
  }
  if (text.length > SMS_MAX_CHARACTERS) {
    throw new PermanentDeliveryError(
      'invalid_message',
      `send ${sendId} has ${text.length} characters of text; an SMS carries at most ${SMS_MAX_CHARACTERS}`,
    );
  }
  return { channel: 'sms', to: content.to, ...recipientName(content), text };
}
