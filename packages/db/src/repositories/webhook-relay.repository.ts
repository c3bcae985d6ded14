import { sql } from 'kysely';
import { newId, webhookWants } from '@outbound/domain';
import type { Db } from '../connection.ts';

/** The advisory lock that keeps relays from running side by side (any constant of our own). */
const RELAY_LOCK_KEY = 0x0b_3b_4e_1a;

/** A webhook delivery the relay made: what its job needs, and what orders it. */
export interface RelayedWebhookDelivery {
  id: string;
  organization_id: string;
  endpoint_id: string;
  event_id: string;
  send_id: string | null;
}

export interface RelayResult {
  /** Events marked relayed, with or without an endpoint to receive them. */
  events: number;
  /** Webhook deliveries made, in event order (then endpoint order). */
  deliveries: RelayedWebhookDelivery[];
}

/**
 * The outbox relay's step (DESIGN §1: events are the outbox of status webhooks). In one
 * transaction, and only when no other relay holds the relay's advisory lock (resolves with
 * nothing done otherwise): claims up to `limit` unrelayed events, oldest id first, with
 * `FOR UPDATE SKIP LOCKED` (an event is never skipped because it committed after a newer one:
 * it stays unrelayed until some relay takes it); makes one webhook delivery per matching enabled endpoint of the event's organization
 * (unique per endpoint and event, so a repeat does nothing); and marks the events relayed.
 * Events of organizations without a matching endpoint are only marked relayed.
 *
 * Leaves out: enqueueing. The caller enqueues the deliveries after this commits; one whose
 * enqueue fails stays `pending` for the webhook sweeper.
 */
export async function relayEvents(db: Db, options: { limit: number }): Promise<RelayResult> {
  return db.transaction().execute(async (tx) => {
    // One relay at a time across every dispatcher, so webhook deliveries are committed in
    // event order, batch after batch (the per-send ordering check reads them); a relay that
    // finds another at work leaves the events to it.
    const lock = await sql<{ locked: boolean }>`
      select pg_try_advisory_xact_lock(${RELAY_LOCK_KEY}) as locked`.execute(tx);
    if (lock.rows[0]?.locked !== true) return { events: 0, deliveries: [] };
    const events = await tx
      .selectFrom('events')
      .select(['id', 'organization_id', 'type', 'send_id'])
      .where('relayed_at', 'is', null)
      .orderBy('id')
      .limit(options.limit)
      .forUpdate()
      .skipLocked()
      .execute();
    if (events.length === 0) return { events: 0, deliveries: [] };

    const organizationIds = [...new Set(events.map((event) => event.organization_id))];
    const endpoints = await tx
      .selectFrom('webhook_endpoints')
      .select(['id', 'organization_id', 'event_types'])
      .where('organization_id', 'in', organizationIds)
      .where('disabled_at', 'is', null)
      .orderBy('id')
      .execute();
    const byOrganization = Map.groupBy(endpoints, (endpoint) => endpoint.organization_id);
    const rows: RelayedWebhookDelivery[] = events.flatMap((event) =>
      (byOrganization.get(event.organization_id) ?? [])
        .filter((endpoint) => webhookWants(endpoint.event_types, event.type))
        .map((endpoint) => ({
          id: newId(),
          organization_id: event.organization_id,
          endpoint_id: endpoint.id,
          event_id: event.id,
          send_id: event.send_id,
        })),
    );
    const made =
      rows.length === 0
        ? []
        : await tx
            .insertInto('webhook_deliveries')
            .values(rows)
            .onConflict((conflict) => conflict.columns(['endpoint_id', 'event_id']).doNothing())
            .returning('id')
            .execute();
    await tx
      .updateTable('events')
      .set({ relayed_at: sql<Date>`now()` })
      .where(
        'id',
        'in',
        events.map((event) => event.id),
      )
      .execute();
    const madeIds = new Set(made.map((row) => row.id));
    return { events: events.length, deliveries: rows.filter((row) => madeIds.has(row.id)) };
  });
}
