import type { WebhookEventRecord } from '@outbound/db';

/** The JSON body of a webhook call: the event as recorded, its ids only when it has them. */
export interface WebhookPayload {
  /** The event id: the same for every attempt and every endpoint; use it to deduplicate. */
  id: string;
  type: string;
  created_at: string;
  organization_id: string;
  send_id?: string;
  delivery_id?: string;
  schedule_id?: string;
  data: Record<string, unknown>;
}

/** The body of every call carrying `event`, byte for byte the same on each attempt. */
export function webhookBody(event: WebhookEventRecord): string {
  const payload: WebhookPayload = {
    id: event.id,
    type: event.type,
    created_at: event.created_at.toISOString(),
    organization_id: event.organization_id,
    ...(event.send_id === null ? {} : { send_id: event.send_id }),
    ...(event.delivery_id === null ? {} : { delivery_id: event.delivery_id }),
    ...(event.schedule_id === null ? {} : { schedule_id: event.schedule_id }),
    data: event.payload,
  };
  return JSON.stringify(payload);
}
