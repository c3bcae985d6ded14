import { randomBytes } from 'node:crypto';
import { z } from 'zod';

/**
 * Every event type Outbound records (the `events` table) and so can deliver to a webhook
 * endpoint. `send.<status>` and `delivery.<status>` follow the send and delivery state
 * machines (DESIGN §3); the rest are draft and schedule notifications.
 */
export const webhookEventTypeSchema = z.enum([
  'send.accepted',
  'send.queued',
  'send.sending',
  'send.sent',
  'send.partially_failed',
  'send.failed',
  'send.canceled',
  'delivery.sending',
  'delivery.sent',
  'delivery.failed',
  'delivery.retrying',
  'delivery.reset',
  'delivery.canceled',
  'schedule.created',
  'schedule.completed',
  'schedule.canceled',
  'draft.ready_for_review',
  'message_draft.promoted',
  'message_draft.failed',
  'email_draft.failed',
]);
export type WebhookEventType = z.infer<typeof webhookEventTypeSchema>;

/** The filter that matches every event type, present and future. */
export const ALL_WEBHOOK_EVENTS = '*';

/** What an endpoint receives: `['*']`, or a list of event types. */
export type WebhookEventFilter = readonly string[];

/** True when an endpoint subscribed to `filter` receives events of `type`. */
export function webhookWants(filter: WebhookEventFilter, type: string): boolean {
  return filter.includes(ALL_WEBHOOK_EVENTS) || filter.includes(type);
}

export const webhookDeliveryStatusSchema = z.enum(['pending', 'delivered', 'failed', 'canceled']);
export type WebhookDeliveryStatus = z.infer<typeof webhookDeliveryStatusSchema>;

/**
 * A new endpoint's signing secret: `whsec_` and 32 random bytes (base64url). The whole string,
 * as UTF-8, is the HMAC key.
 */
export function generateWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64url')}`;
}
