import { sql, type Kysely } from 'kysely';

/**
 * Status webhooks. An organization's endpoints (URL, event filter, signing secret sealed like
 * sender credentials), and one webhook delivery per (endpoint, event), which records every
 * attempt's outcome. `events` becomes the outbox: `relayed_at` is set once the relay has made
 * an event's webhook deliveries, and the partial index keeps the relay's scan to the rows it
 * has not done yet. Events recorded before this migration count as relayed (no endpoint
 * existed to receive them); the default is dropped at once, so every later event starts
 * unrelayed without any writer having to know about the column.
 */
export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    ALTER TABLE events ADD COLUMN relayed_at timestamptz DEFAULT now();
    ALTER TABLE events ALTER COLUMN relayed_at DROP DEFAULT;
    CREATE INDEX events_unrelayed_idx ON events (id) WHERE relayed_at IS NULL;
    ALTER TABLE events ADD CONSTRAINT events_id_organization_key UNIQUE (id, organization_id);

    CREATE TABLE webhook_endpoints (
      id uuid PRIMARY KEY,
      organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
      url text NOT NULL CHECK (length(url) BETWEEN 1 AND 2048),
      -- Event types to receive; '{*}' receives every type.
      event_types text[] NOT NULL CHECK (cardinality(event_types) >= 1),
      secret_sealed text NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      disabled_at timestamptz,
      UNIQUE (id, organization_id)
    );
    CREATE INDEX webhook_endpoints_organization_idx
      ON webhook_endpoints (organization_id, created_at, id) WHERE disabled_at IS NULL;

    CREATE TABLE webhook_deliveries (
      id uuid PRIMARY KEY,
      organization_id uuid NOT NULL,
      endpoint_id uuid NOT NULL,
      event_id uuid NOT NULL,
      -- The event's send, copied for the per-send ordering check.
      send_id uuid,
      status text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'delivered', 'failed', 'canceled')),
      attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
      last_status_code integer,
      last_error text,
      last_attempt_at timestamptz,
      next_attempt_at timestamptz NOT NULL DEFAULT now(),
      delivered_at timestamptz,
      failed_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (endpoint_id, event_id),
      UNIQUE (id, organization_id),
      FOREIGN KEY (endpoint_id, organization_id)
        REFERENCES webhook_endpoints (id, organization_id) ON DELETE CASCADE,
      FOREIGN KEY (event_id, organization_id)
        REFERENCES events (id, organization_id) ON DELETE CASCADE
    );
    CREATE INDEX webhook_deliveries_event_idx ON webhook_deliveries (event_id);
    CREATE INDEX webhook_deliveries_recent_idx
      ON webhook_deliveries (endpoint_id, created_at DESC, id DESC);
    -- The ordering check (an earlier pending delivery of the same endpoint and send) and the
    -- webhook sweeper's scan (pending deliveries by when they are due).
    CREATE INDEX webhook_deliveries_pending_send_idx
      ON webhook_deliveries (endpoint_id, send_id, event_id) WHERE status = 'pending';
    CREATE INDEX webhook_deliveries_pending_due_idx
      ON webhook_deliveries (next_attempt_at, id) WHERE status = 'pending';
  `.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    DROP TABLE webhook_deliveries, webhook_endpoints;
    ALTER TABLE events DROP CONSTRAINT events_id_organization_key;
    DROP INDEX events_unrelayed_idx;
    ALTER TABLE events DROP COLUMN relayed_at;
  `.execute(db);
}
