import type {
  RecentWebhookDelivery,
  WebhookDeliveryStats,
  WebhookEndpointRecord,
} from '@outbound/db';
import type { z } from 'zod';
import { AppError } from '../errors/app-error.ts';
import type {
  getWebhookResponseSchema,
  listWebhooksResponseSchema,
} from '../routes/webhooks.schema.ts';

type WebhookView = z.input<typeof listWebhooksResponseSchema>['webhooks'][number];
type WebhookDeliveriesView = z.input<typeof getWebhookResponseSchema>['webhook']['deliveries'];

/** An endpoint as the API shows it: never its secret. */
export function webhookView(endpoint: WebhookEndpointRecord): WebhookView {
  return {
    webhook_id: endpoint.id,
    url: endpoint.url,
    events: endpoint.event_types,
    created_at_ms: endpoint.created_at.getTime(),
  };
}

/** An endpoint's webhook deliveries: counts by status and the newest ones. */
export function webhookDeliveriesView(stats: WebhookDeliveryStats): WebhookDeliveriesView {
  return { ...stats.counts, recent: stats.recent.map(recentView) };
}

function recentView(delivery: RecentWebhookDelivery): WebhookDeliveriesView['recent'][number] {
  return {
    webhook_delivery_id: delivery.id,
    event_id: delivery.event_id,
    event_type: delivery.event_type,
    status: delivery.status,
    attempts: delivery.attempts,
    last_status_code: delivery.last_status_code,
    last_error: delivery.last_error,
    last_attempt_at_ms: delivery.last_attempt_at?.getTime() ?? null,
    next_attempt_at_ms: delivery.status === 'pending' ? delivery.next_attempt_at.getTime() : null,
    delivered_at_ms: delivery.delivered_at?.getTime() ?? null,
    failed_at_ms: delivery.failed_at?.getTime() ?? null,
    created_at_ms: delivery.created_at.getTime(),
  };
}

export function webhookNotFound(webhookId: string): AppError {
  return AppError.of('not_found', `webhook ${webhookId} not found`, { webhook_id: webhookId });
}
