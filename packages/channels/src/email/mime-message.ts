import { randomUUID } from 'node:crypto';
import MailComposer from 'nodemailer/lib/mail-composer';
import type { EmailMessage } from '../channel-adapter.ts';

/** An email ready for a provider: the message's bytes, and who is to receive it. */
export interface ComposedEmail {
  /** The RFC 5322 message, CRLF line ends, 7-bit clean (non-ASCII is encoded). */
  raw: Buffer;
  /** The `Message-ID` header's value, angle brackets included. */
  messageId: string;
  /** The SMTP envelope: `from`'s address; every To, Cc and Bcc address, in that order. */
  envelope: { from: string; to: string[] };
}

export interface ComposeEmailOptions {
  /**
   * Whether the `Bcc` header stays in `raw`. Gmail's `messages.send` takes its recipients from
   * the To, Cc and Bcc headers (and strips Bcc from what it delivers), so Gmail needs it kept;
   * over SMTP the envelope carries Bcc recipients and the header must not reach anyone.
   */
  bccHeader: 'keep' | 'omit';
  /**
   * The delivery the email serves. Its Message-ID is derived from it, so every attempt of one
   * delivery carries the same Message-ID and a mailbox that already has the message (a retry
   * after an answer that got lost) can recognise the copy. A random id otherwise.
   */
  deliveryId?: string | undefined;
  /** The Date header; now by default. */
  date?: Date;
}

/**
 * Builds the MIME message with nodemailer's MailComposer, the one place Outbound composes email:
 * text/plain or text/html alone, multipart/alternative for both, inside multipart/mixed when
 * there are attachments. Non-ASCII subjects and names become RFC 2047 encoded words and bodies
 * quoted-printable or base64, so the result is 7-bit clean. Line breaks in header values
 * (subject, names) are folded into spaces: no header can be injected.
 *
 * The message must have been checked against `emailMessageSchema` (defaults applied).
 */
export async function composeEmail(
  message: EmailMessage,
  options: ComposeEmailOptions,
): Promise<ComposedEmail> {
  const domain = message.from.address.slice(message.from.address.lastIndexOf('@') + 1);
  const messageId = `<${options.deliveryId ?? randomUUID()}@${domain}>`;
  const composer = new MailComposer({
    from:
      message.from.name === undefined || message.from.name === ''
        ? message.from.address
        : { name: message.from.name, address: message.from.address },
    to: message.to,
    ...(message.cc.length > 0 ? { cc: message.cc } : {}),
    ...(message.bcc.length > 0 ? { bcc: message.bcc } : {}),
    ...(message.replyTo === undefined ? {} : { replyTo: message.replyTo }),
    subject: message.subject,
    ...(message.text === undefined ? {} : { text: message.text }),
    ...(message.html === undefined ? {} : { html: message.html }),
    attachments: message.attachments.map((file) => ({
      filename: file.filename,
      contentType: file.contentType,
      content: Buffer.from(file.contentBase64, 'base64'),
    })),
    messageId,
    date: options.date ?? new Date(),
    newline: 'win',
    // Nothing in a message may make the composer read a file or fetch a URL.
    disableFileAccess: true,
    disableUrlAccess: true,
  });
  const node = composer.compile();
  node.keepBcc = options.bccHeader === 'keep';
  const envelope = node.getEnvelope();
  const raw = await node.build();
  return {
    raw,
    messageId,
    envelope: { from: message.from.address, to: envelope.to },
  };
}
