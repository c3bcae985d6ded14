import { sql } from 'kysely';
import type { WebhookDelivery } from '../database.ts';
import type { Executor } from './executor.ts';

/** Names a webhook delivery of an organization. */
export interface WebhookDeliveryRef {
  id: string;
  organization_id: string;
}

/** The event a webhook delivery carries, as recorded. */
export interface WebhookEventRecord {
  id: string;
  organization_id: string;
  type: string;
  send_id: string | null;
  delivery_id: string | null;
  schedule_id: string | null;
  payload: Record<string, unknown>;
  created_at: Date;
}

/** A webhook delivery with its endpoint (secret still sealed) and its event. */
export interface WebhookDeliveryForSending {
  delivery: WebhookDelivery;
  endpoint: { id: string; url: string; secret_sealed: string; disabled_at: Date | null };
  event: WebhookEventRecord;
}

/** The webhook delivery with its endpoint and event, or undefined when there is none. */
export async function loadWebhookDeliveryForSending(
  db: Executor,
  ref: WebhookDeliveryRef,
): Promise<WebhookDeliveryForSending | undefined> {
  const row = await db
    .selectFrom('webhook_deliveries as d')
    .innerJoin('webhook_endpoints as w', (join) =>
      join.onRef('w.id', '=', 'd.endpoint_id').onRef('w.organization_id', '=', 'd.organization_id'),
    )
    .innerJoin('events as e', (join) =>
      join.onRef('e.id', '=', 'd.event_id').onRef('e.organization_id', '=', 'd.organization_id'),
    )
    .selectAll('d')
    .select([
      'w.url as endpoint_url',
      'w.secret_sealed as endpoint_secret_sealed',
      'w.disabled_at as endpoint_disabled_at',
      'e.type as event_type',
      'e.delivery_id as event_delivery_id',
      'e.schedule_id as event_schedule_id',
      'e.payload as event_payload',
      'e.created_at as event_created_at',
    ])
    .where('d.id', '=', ref.id)
    .where('d.organization_id', '=', ref.organization_id)
    .executeTakeFirst();
  if (row === undefined) return undefined;
  const {
    endpoint_url,
    endpoint_secret_sealed,
    endpoint_disabled_at,
    event_type,
    event_delivery_id,
    event_schedule_id,
    event_payload,
    event_created_at,
    ...delivery
  } = row;
  return {
    delivery,
    endpoint: {
      id: delivery.endpoint_id,
      url: endpoint_url,
      secret_sealed: endpoint_secret_sealed,
      disabled_at: endpoint_disabled_at,
    },
    event: {
      id: delivery.event_id,
      organization_id: delivery.organization_id,
      type: event_type,
      send_id: delivery.send_id,
      delivery_id: event_delivery_id,
      schedule_id: event_schedule_id,
      payload: event_payload,
      created_at: event_created_at,
    },
  };
}

/**
 * True when an earlier event (smaller id) of the same send is still `pending` for the same
 * endpoint: the per-send ordering check. Always false for an event without a send.
 */
export async function hasEarlierPendingWebhookDelivery(
  db: Executor,
  delivery: Pick<WebhookDelivery, 'endpoint_id' | 'send_id' | 'event_id'>,
): Promise<boolean> {
  if (delivery.send_id === null) return false;
  const found = await db
    .selectFrom('webhook_deliveries')
    .select('id')
    .where('endpoint_id', '=', delivery.endpoint_id)
    .where('send_id', '=', delivery.send_id)
    .where('status', '=', 'pending')
    .where('event_id', '<', delivery.event_id)
    .limit(1)
    .executeTakeFirst();
  return found !== undefined;
}

/**
 * Counts one more attempt of a `pending` webhook delivery that has made `seenAttempts` so far.
 * Resolves with the new attempt number, or undefined when the delivery is no longer pending
 * or another job counted an attempt meanwhile (that job makes the call, not this one).
 */
export async function claimWebhookAttempt(
  db: Executor,
  ref: WebhookDeliveryRef,
  seenAttempts: number,
): Promise<number | undefined> {
  const row = await db
    .updateTable('webhook_deliveries')
    .set((eb) => ({
      attempts: eb('attempts', '+', 1),
      last_attempt_at: sql<Date>`now()`,
      updated_at: sql<Date>`now()`,
    }))
    .where('id', '=', ref.id)
    .where('organization_id', '=', ref.organization_id)
    .where('status', '=', 'pending')
    .where('attempts', '=', seenAttempts)
    .returning('attempts')
    .executeTakeFirst();
  return row?.attempts;
}

/** How one call went: delivered, to be retried at `nextAttemptAt`, or failed for good. */
export type WebhookAttemptOutcome =
  | { kind: 'delivered'; statusCode: number }
  | { kind: 'retry'; statusCode: number | null; error: string; nextAttemptAt: Date }
  | { kind: 'failed'; statusCode: number | null; error: string };

/**
 * Records how attempt `attempt` went, if it is still the delivery's latest and the delivery is
 * still `pending` (a canceled one stays canceled). True when recorded.
 */
export async function recordWebhookAttempt(
  db: Executor,
  ref: WebhookDeliveryRef,
  attempt: number,
  outcome: WebhookAttemptOutcome,
): Promise<boolean> {
  const now = sql<Date>`now()`;
  const changes =
    outcome.kind === 'delivered'
      ? { status: 'delivered' as const, last_error: null, delivered_at: now }
      : outcome.kind === 'retry'
        ? { last_error: outcome.error, next_attempt_at: outcome.nextAttemptAt }
        : { status: 'failed' as const, last_error: outcome.error, failed_at: now };
  const row = await db
    .updateTable('webhook_deliveries')
    .set({ ...changes, last_status_code: outcome.statusCode, updated_at: now })
    .where('id', '=', ref.id)
    .where('organization_id', '=', ref.organization_id)
    .where('status', '=', 'pending')
    .where('attempts', '=', attempt)
    .returning('id')
    .executeTakeFirst();
  return row !== undefined;
}

/** `pending → canceled` (its endpoint was disabled). True when it happened. */
export async function cancelWebhookDelivery(
  db: Executor,
  ref: WebhookDeliveryRef,
): Promise<boolean> {
  const row = await db
    .updateTable('webhook_deliveries')
    .set({ status: 'canceled', updated_at: sql<Date>`now()` })
    .where('id', '=', ref.id)
    .where('organization_id', '=', ref.organization_id)
    .where('status', '=', 'pending')
    .returning('id')
    .executeTakeFirst();
  return row !== undefined;
}

/** A pending webhook delivery the sweeper may have to give a job again. */
export type PendingWebhookDelivery = Pick<
  WebhookDelivery,
  'id' | 'organization_id' | 'next_attempt_at'
>;

/**
 * `pending` webhook deliveries whose next attempt was due before `dueBefore`, in id order
 * after `afterId`: a live job would have made that attempt by now.
 */
export async function findOverduePendingWebhookDeliveries(
  db: Executor,
  options: { dueBefore: Date; limit: number; afterId?: string },
): Promise<PendingWebhookDelivery[]> {
  let query = db
    .selectFrom('webhook_deliveries')
    .select(['id', 'organization_id', 'next_attempt_at'])
    .where('status', '=', 'pending')
    .where('next_attempt_at', '<', options.dueBefore);
  if (options.afterId !== undefined) query = query.where('id', '>', options.afterId);
  return query.orderBy('id').limit(options.limit).execute();
}
