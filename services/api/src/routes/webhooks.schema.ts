import {
  ALL_WEBHOOK_EVENTS,
  webhookDeliveryStatusSchema,
  webhookEventTypeSchema,
} from '@outbound/domain';
import { z } from 'zod';

/** Limits of the webhook routes. */
export const WEBHOOK_LIMITS = {
  url: 2_048,
  /** Enabled endpoints per organization. */
  perOrganization: 20,
  /** Webhook deliveries `GET /v2/webhooks/{webhook_id}` lists. */
  recent: 20,
} as const;

const requestId = z.string().meta({ description: "This request's id (X-Request-Id)." });

const eventsSchema = z
  .array(z.union([z.literal(ALL_WEBHOOK_EVENTS), webhookEventTypeSchema]))
  .min(1)
  .max(webhookEventTypeSchema.options.length)
  .superRefine((events, context) => {
    if (events.includes(ALL_WEBHOOK_EVENTS) && events.length > 1) {
      context.addIssue({ code: 'custom', message: '"*" receives every event: give it alone' });
    }
  })
  .transform((events) => [...new Set(events)])
  .meta({
    description:
      'The event types to receive (each at most once counts), or `["*"]` for every type, ' +
      'including types added later.',
  });

export const createWebhookRequestSchema = z
  .strictObject({
    url: z
      .url({ protocol: /^https?$/ })
      .max(WEBHOOK_LIMITS.url)
      .meta({
        description:
          'Where events are POSTed: an https URL whose host is not loopback, private, ' +
          'link-local, CGNAT or otherwise reserved (checked now and at every call). No ' +
          'credentials in the URL.',
      }),
    events: eventsSchema,
  })
  .meta({ id: 'CreateWebhookRequest' });

export type CreateWebhookRequest = z.output<typeof createWebhookRequestSchema>;

const webhookFields = {
  webhook_id: z.uuid(),
  url: z.string(),
  events: z.array(z.string()).meta({ description: 'Event types received; `["*"]`: all.' }),
  created_at_ms: z.int(),
};

const webhookSchema = z.object(webhookFields).meta({ id: 'Webhook' });

const epochMs = z.int().nullable();

const recentDeliverySchema = z
  .object({
    webhook_delivery_id: z.uuid(),
    event_id: z.uuid().meta({ description: 'The `id` of the payload and `Outbound-Event-Id`.' }),
    event_type: z.string(),
    status: webhookDeliveryStatusSchema,
    attempts: z.int().meta({ description: 'Calls made so far.' }),
    last_status_code: z
      .int()
      .nullable()
      .meta({ description: "The endpoint's HTTP status at the last call; null without one." }),
    last_error: z
      .string()
      .nullable()
      .meta({ description: 'Why the last call failed (`HTTP 500`, `timeout: …`).' }),
    last_attempt_at_ms: epochMs,
    next_attempt_at_ms: epochMs.meta({ description: 'When the next call is due, while pending.' }),
    delivered_at_ms: epochMs,
    failed_at_ms: epochMs,
    created_at_ms: z.int(),
  })
  .meta({ id: 'WebhookDelivery' });

export const createWebhookResponseSchema = z
  .object({
    request_id: requestId,
    webhook: z.object({
      ...webhookFields,
      secret: z.string().meta({
        description:
          'The signing secret (`whsec_…`). Shown in this answer only: store it now. The ' +
          '`Outbound-Signature` header of every call is an HMAC-SHA256 keyed with it.',
      }),
    }),
  })
  .meta({ id: 'CreatedWebhook' });

export const listWebhooksResponseSchema = z
  .object({ request_id: requestId, webhooks: z.array(webhookSchema) })
  .meta({ id: 'WebhookList' });

export const getWebhookResponseSchema = z
  .object({
    request_id: requestId,
    webhook: z.object({
      ...webhookFields,
      deliveries: z.object({
        pending: z.int(),
        delivered: z.int(),
        failed: z.int(),
        canceled: z.int(),
        recent: z
          .array(recentDeliverySchema)
          .meta({ description: `The newest ${WEBHOOK_LIMITS.recent}, newest first.` }),
      }),
    }),
  })
  .meta({ id: 'WebhookWithDeliveries' });
