import type { Logger } from '@outbound/config';
import { type Db, relayEvents } from '@outbound/db';
import { enqueueWebhookDeliveries, type Queues } from '@outbound/queue';

export interface WebhookRelayDeps {
  db: Db;
  queues: Queues;
  logger: Logger;
  /** Events claimed per transaction; a run takes at most `maxBatches` of them. */
  batchSize?: number;
  maxBatches?: number;
}

export interface WebhookRelayResult {
  /** Events marked relayed. */
  events: number;
  /** Webhook deliveries made and enqueued. */
  enqueued: number;
}

/**
 * The outbox relay (the `relay-webhooks` job, every `WEBHOOK_RELAY_INTERVAL_MS`): batch by
 * batch, `relayEvents` claims unrelayed events and makes their webhook deliveries in one
 * transaction; once it has committed, each delivery gets one `deliver-webhook` job (id = its
 * id), in event order. An enqueue that fails leaves its deliveries `pending` for the webhook
 * sweeper. Safe in several dispatchers at once: claims skip each other's locked events.
 */
export function createWebhookRelay(deps: WebhookRelayDeps) {
  const { db, queues } = deps;
  const batchSize = deps.batchSize ?? 500;
  const maxBatches = deps.maxBatches ?? 10;

  async function relay(): Promise<WebhookRelayResult> {
    const result: WebhookRelayResult = { events: 0, enqueued: 0 };
    for (let batch = 0; batch < maxBatches; batch += 1) {
      const relayed = await relayEvents(db, { limit: batchSize });
      result.events += relayed.events;
      await enqueueWebhookDeliveries(
        queues,
        relayed.deliveries.map((delivery) => ({
          webhook_delivery_id: delivery.id,
          organization_id: delivery.organization_id,
        })),
      );
      result.enqueued += relayed.deliveries.length;
      if (relayed.events < batchSize) break;
    }
    return result;
  }

  return { relay };
}

export type WebhookRelay = ReturnType<typeof createWebhookRelay>;
