import { convert } from 'html-to-text';
import { type EmailMessage, PermanentDeliveryError } from '@outbound/channels';
import {
  type Db,
  type DeliveryForSending,
  EmailSendContentError,
  loadEmailSendMessage,
} from '@outbound/db';

/**
 * The plain-text part of an email that has only an HTML body: mail clients that show text, and
 * spam filters that expect both parts, get readable text. Images are left out (a data: URI
 * would otherwise flood the text); a link shows its URL unless its text already is the URL.
 */
export function textFromHtml(html: string): string {
  return convert(html, {
    selectors: [
      { selector: 'img', format: 'skip' },
      { selector: 'a', options: { hideLinkHrefIfSameAsText: true } },
    ],
  });
}

/**
 * The message an email delivery sends: the send's snapshot of its draft with the attachments'
 * bytes (`loadEmailSendMessage`), from the account's address, in ONE provider call to every
 * To, Cc and Bcc address. The HTML body goes out unchanged; without a text body, a text part
 * is derived from it (`textFromHtml`). A send that cannot become an email (not email content,
 * an attachment gone) is a permanent `invalid_message`; a database failure is thrown as is,
 * for a retry.
 */
export async function emailDeliveryMessage(
  db: Db,
  loaded: DeliveryForSending,
): Promise<EmailMessage> {
  let message;
  try {
    message = await loadEmailSendMessage(db, loaded.delivery.organization_id, loaded.send);
  } catch (error) {
    if (error instanceof EmailSendContentError) {
      throw new PermanentDeliveryError('invalid_message', error.message, { cause: error });
    }
    throw error;
  }
  const derived = message.text === null && message.html !== null ? textFromHtml(message.html) : '';
  const text = message.text ?? (derived === '' ? null : derived);
  return {
    channel: 'email',
    from: { address: message.from },
    to: message.to,
    cc: message.cc,
    bcc: message.bcc,
    subject: message.subject ?? '',
    ...(text === null ? {} : { text }),
    ...(message.html === null ? {} : { html: message.html }),
    attachments: message.attachments.map((file) => ({
      filename: file.filename,
      contentType: file.contentType,
      contentBase64: file.data.toString('base64'),
    })),
  };
}
