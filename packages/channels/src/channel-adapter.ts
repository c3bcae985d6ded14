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

export const emailAttachmentSchema = mediaItemSchema.required({ filename: true });
export type EmailAttachment = z.infer<typeof emailAttachmentSchema>;

export const emailMessageSchema = z
  .object({
    channel: z.literal('email'),
    to: z.array(z.email()).min(1),
    cc: z.array(z.email()).default([]),
    bcc: z.array(z.email()).default([]),
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
  );
export type EmailMessage = z.infer<typeof emailMessageSchema>;

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
