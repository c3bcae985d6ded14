import { z } from 'zod';

export const channelSchema = z.enum(['whatsapp', 'email', 'sms']);
export type Channel = z.infer<typeof channelSchema>;

export const providerSchema = z.enum(['sandbox', 'waha', 'gmail', 'smtp', 'twilio']);
export type Provider = z.infer<typeof providerSchema>;

/** Which providers can carry which channel; the sandbox carries all of them. */
export const PROVIDERS_BY_CHANNEL = {
  whatsapp: ['sandbox', 'waha'],
  email: ['sandbox', 'gmail', 'smtp'],
  sms: ['sandbox', 'twilio'],
} as const satisfies Record<Channel, readonly Provider[]>;

export function providerServesChannel(provider: Provider, channel: Channel): boolean {
  return (PROVIDERS_BY_CHANNEL[channel] as readonly Provider[]).includes(provider);
}

export const senderRoleSchema = z.enum(['sending', 'receiving']);
export type SenderRole = z.infer<typeof senderRoleSchema>;

export const senderStatusSchema = z.enum(['WORKING', 'STOPPED', 'FAILED']);
export type SenderStatus = z.infer<typeof senderStatusSchema>;

/** At most `max` provider calls per `window_ms` for one sender. */
export const rateLimitSchema = z.object({
  max: z.number().int().positive(),
  window_ms: z.number().int().positive(),
});
export type RateLimit = z.infer<typeof rateLimitSchema>;

/** Sandbox senders get a generous limit so demos and tests are never throttled by accident. */
export const SANDBOX_RATE_LIMIT: RateLimit = { max: 600, window_ms: 60_000 };
