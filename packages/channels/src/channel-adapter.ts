import { z } from 'zod';
import type { Channel, Provider } from '@outbound/domain';
import { PermanentDeliveryError } from './delivery-errors.ts';

/**
 * A file the provider receives. `url` is Outbound's own media URL (DESIGN §7): never a URL a
 * caller supplied, so a provider that fetches it cannot be used as a proxy.
 */
export const mediaItemSchema = z.object({
  url: z.url({ protocol: /^https?$/ }),
  mimetype: z.string().min(1),
  filename: z.string().min(1).optional(),
});
export type MediaItem = z.infer<typeof mediaItemSchema>;

/** Who the message is for, in words (a group or contact name); used in logs and by the sandbox. */
const recipientName = z.string().min(1).max(256).optional();

export const whatsappMessageSchema = z
  .object({
    channel: z.literal('whatsapp'),
    /** The provider's chat id of the group or contact, e.g. `120363025246125486@g.us`. */
    chatId: z.string().min(1),
    recipientName,
    text: z.string().min(1).max(4096).optional(),
    media: z.array(mediaItemSchema).max(10).default([]),
  })
  .refine((message) => message.text !== undefined || message.media.length > 0, {
    message: 'a WhatsApp message needs text or media',
  });
export type WhatsappMessage = z.infer<typeof whatsappMessageSchema>;

/** How many attachment bytes (decoded) one email may carry: Gmail's limit, the lowest we serve. */
export const EMAIL_ATTACHMENTS_MAX_BYTES = 25 * 1024 * 1024;

/** A MIME type (`type/subtype`, RFC 6838 names), with parameters if any (`; charset=utf-8`). */
const mimeType =
  /^[\w!#$&^.+-]+\/[\w!#$&^.+-]+(?:\s*;\s*[\w!#$&^.+-]+=(?:[\w!#$&^.+-]+|"[^"\r\n]*"))*$/;

/**
 * A file attached to an email, carried whole rather than by URL: email drafts keep attachment
 * bytes in Postgres (`email_draft_attachments.data`), and both Gmail and SMTP take the bytes
 * inside the message. `contentBase64` is standard padded base64 (RFC 4648 §4) of the file.
 * WhatsApp media stay `MediaItem`s.
 */
export const emailAttachmentSchema = z.object({
  filename: z.string().min(1).max(255),
  contentType: z.string().max(255).regex(mimeType, 'a MIME type such as application/pdf'),
  contentBase64: z.base64(),
});
export type EmailAttachment = z.infer<typeof emailAttachmentSchema>;

/**
 * Who an email is from: an address and, optionally, the display name beside it. No line breaks
 * in the name: it becomes part of a header.
 */
export const emailMailboxSchema = z.object({
  address: z.email(),
  name: z
    .string()
    .max(256)
    .regex(/^[^\r\n]*$/, 'a name on one line')
    .optional(),
});
export type EmailMailbox = z.infer<typeof emailMailboxSchema>;

/**
 * One email, as one provider call sends it: every address in `to`, `cc` and `bcc` gets the same
 * message; Bcc addresses are never visible to the others.
 *
 * `from` is part of the message, not of the sender's settings: the dispatcher fills it from the
 * sender's row (`senders.address`, and a display name if it has one), so one place holds a
 * sender's address. A provider may refuse or rewrite a `from` its account may not use (Gmail
 * replaces an address that is neither the account's nor one of its verified "send as" aliases;
 * an SMTP server may answer 553, a permanent `rejected_by_provider`).
 *
 * Attachments total at most `EMAIL_ATTACHMENTS_MAX_BYTES` once decoded. With both `text` and
 * `html` the message is multipart/alternative; attachments make it multipart/mixed.
 */
export const emailMessageSchema = z
  .object({
    channel: z.literal('email'),
    from: emailMailboxSchema,
    to: z.array(z.email()).min(1),
    cc: z.array(z.email()).default([]),
    bcc: z.array(z.email()).default([]),
    /** Where replies go, when not to `from`. */
    replyTo: z.email().optional(),
    recipientName,
    subject: z.string().max(998).default(''),
    text: z.string().optional(),
    html: z.string().optional(),
    attachments: z.array(emailAttachmentSchema).default([]),
  })
  .refine(
    (message) => message.subject !== '' || message.text !== undefined || message.html !== undefined,
    {
      message: 'an email needs a subject or a body',
    },
  )
  .refine(
    (message) =>
      message.attachments.reduce((total, file) => total + decodedSize(file.contentBase64), 0) <=
      EMAIL_ATTACHMENTS_MAX_BYTES,
    {
      message: `attachments may total at most ${EMAIL_ATTACHMENTS_MAX_BYTES} bytes`,
      path: ['attachments'],
    },
  );
export type EmailMessage = z.infer<typeof emailMessageSchema>;

/** The size of the bytes a (valid, padded) base64 string holds, without decoding it. */
function decodedSize(base64: string): number {
  const padding = base64.endsWith('==') ? 2 : base64.endsWith('=') ? 1 : 0;
  return (base64.length / 4) * 3 - padding;
}

export const smsMessageSchema = z.object({
  channel: z.literal('sms'),
  to: z.string().regex(/^\+[1-9]\d{1,14}$/, 'an E.164 number such as +14155550100'),
  recipientName,
  text: z.string().min(1).max(1_600),
});
export type SmsMessage = z.infer<typeof smsMessageSchema>;

/** The message schema of each channel; the compiler checks every channel has one. */
export const MESSAGE_SCHEMAS = {
  whatsapp: whatsappMessageSchema,
  email: emailMessageSchema,
  sms: smsMessageSchema,
} as const satisfies Record<Channel, z.ZodType<{ channel: Channel }>>;

export type MessageOf<C extends Channel> = z.infer<(typeof MESSAGE_SCHEMAS)[C]>;
export type ChannelMessage = MessageOf<Channel>;
/** What a caller hands in before defaults are applied (e.g. `media` may be left out). */
export type MessageInputOf<C extends Channel> = z.input<(typeof MESSAGE_SCHEMAS)[C]>;

/**
 * Checks a message against its channel's schema and applies defaults; a mismatch is a permanent
 * `invalid_message`, since sending the same message again cannot fix it.
 */
export function parseMessage<C extends Channel>(channel: C, message: unknown): MessageOf<C> {
  const parsed = MESSAGE_SCHEMAS[channel].safeParse(message);
  if (!parsed.success) {
    throw new PermanentDeliveryError(
      'invalid_message',
      `not a valid ${channel} message: ${z.prettifyError(parsed.error).replaceAll('\n', '; ')}`,
    );
  }
  return parsed.data as MessageOf<C>;
}

/** One provider call for one recipient. */
export interface SendRequest<C extends Channel> {
  message: MessageInputOf<C>;
  /** 1 on the first try, 2 on the first retry, and so on. */
  attempt: number;
  /** The delivery this call serves, so a provider's record can be traced back to it. */
  deliveryId?: string;
  /** Aborted when the caller gives up; an adapter then stops and throws a retryable `timeout`. */
  signal?: AbortSignal;
}

export interface SendResult {
  /** The provider's id for the message it accepted; never empty. */
  providerMessageId: string;
}

/**
 * Sends one message for one sender through one provider. Built per sender (its settings and
 * credentials are fixed at creation) and never mutated afterwards, so one adapter may serve
 * concurrent sends.
 *
 * Guarantees, checked by the contract suite in `adapter-contract.ts`:
 * - `send` resolves only once the provider has accepted the message, with its message id;
 * - every rejection is a `PermanentDeliveryError` (retrying cannot help: bad recipient, bad
 *   message, refused by the provider) or a `RetryableDeliveryError` (timeouts, 5xx, 429,
 *   connection errors; `retryAfterMs` when the provider said when to come back);
 * - a message that does not match the channel's schema is a permanent `invalid_message`,
 *   and nothing reaches the provider.
 *
 * It leaves out everything around the call: rate limits, retries and backoff, recording the
 * outcome. Those belong to the dispatcher.
 */
export interface ChannelAdapter<C extends Channel> {
  readonly channel: C;
  readonly provider: Provider;
  send(request: SendRequest<C>): Promise<SendResult>;
}

/** An adapter of any channel, discriminated by `channel`. */
export type AnyChannelAdapter = { [C in Channel]: ChannelAdapter<C> }[Channel];
