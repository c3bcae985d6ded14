import { sql } from 'kysely';
import { type CredentialsCipher, newId, type WebhookDeliveryStatus } from '@outbound/domain';
import type { Db } from '../connection.ts';
import type { WebhookEndpoint } from '../database.ts';
import type { Executor } from './executor.ts';

/** An endpoint as the rest of the system sees it: never the sealed secret. */
export type WebhookEndpointRecord = Omit<WebhookEndpoint, 'secret_sealed'>;

const PUBLIC_COLUMNS = [
  'id',
  'organization_id',
  'url',
  'event_types',
  'created_at',
  'disabled_at',
] as const;

export interface CreateWebhookEndpointOptions {
  organizationId: string;
  url: string;
  /** Event types to receive, or `['*']`. */
  eventTypes: readonly string[];
  /** The signing secret in clear; stored sealed by `cipher`. */
  secret: string;
  /** The most endpoints an organization may have enabled at once. */
  maxPerOrganization: number;
}

/**
 * Creates an endpoint, unless the organization already has `maxPerOrganization` enabled ones
 * (resolves `undefined` then). The organization's row is locked for the count and insert, so
 * concurrent creations cannot go past the limit together.
 */
export async function createWebhookEndpoint(
  db: Db,
  cipher: CredentialsCipher,
  options: CreateWebhookEndpointOptions,
): Promise<WebhookEndpointRecord | undefined> {
  return db.transaction().execute(async (tx) => {
    await tx
      .selectFrom('organizations')
      .select('id')
      .where('id', '=', options.organizationId)
      .forUpdate()
      .execute();
    const { count } = await tx
      .selectFrom('webhook_endpoints')
      .select((eb) => eb.fn.countAll<string>().as('count'))
      .where('organization_id', '=', options.organizationId)
      .where('disabled_at', 'is', null)
      .executeTakeFirstOrThrow();
    if (Number(count) >= options.maxPerOrganization) return undefined;
    return tx
      .insertInto('webhook_endpoints')
      .values({
        id: newId(),
        organization_id: options.organizationId,
        url: options.url,
        event_types: [...options.eventTypes],
        secret_sealed: cipher.seal({ secret: options.secret }),
      })
      .returning(PUBLIC_COLUMNS)
      .executeTakeFirstOrThrow();
  });
}

/** The organization's enabled endpoints, oldest first. */
export async function listWebhookEndpoints(
  db: Executor,
  organizationId: string,
): Promise<WebhookEndpointRecord[]> {
  return db
    .selectFrom('webhook_endpoints')
    .select(PUBLIC_COLUMNS)
    .where('organization_id', '=', organizationId)
    .where('disabled_at', 'is', null)
    .orderBy('created_at')
    .orderBy('id')
    .execute();
}

/** The organization's enabled endpoint, or undefined (missing, disabled or another's). */
export async function findWebhookEndpoint(
  db: Executor,
  organizationId: string,
  endpointId: string,
): Promise<WebhookEndpointRecord | undefined> {
  return db
    .selectFrom('webhook_endpoints')
    .select(PUBLIC_COLUMNS)
    .where('id', '=', endpointId)
    .where('organization_id', '=', organizationId)
    .where('disabled_at', 'is', null)
    .executeTakeFirst();
}

/**
 * Disables the organization's endpoint and cancels its pending webhook deliveries, in one
 * transaction. False when there was no enabled endpoint of that id in the organization.
 */
export async function disableWebhookEndpoint(
  db: Db,
  organizationId: string,
  endpointId: string,
): Promise<boolean> {
  return db.transaction().execute(async (tx) => {
    const disabled = await tx
      .updateTable('webhook_endpoints')
      .set({ disabled_at: sql<Date>`now()` })
      .where('id', '=', endpointId)
      .where('organization_id', '=', organizationId)
      .where('disabled_at', 'is', null)
      .returning('id')
      .executeTakeFirst();
    if (disabled === undefined) return false;
    await tx
      .updateTable('webhook_deliveries')
      .set({ status: 'canceled', updated_at: sql<Date>`now()` })
      .where('endpoint_id', '=', endpointId)
      .where('organization_id', '=', organizationId)
      .where('status', '=', 'pending')
      .execute();
    return true;
  });
}

/** One webhook delivery of an endpoint, as its stats list it. */
export interface RecentWebhookDelivery {
  id: string;
  event_id: string;
  event_type: string;
  status: WebhookDeliveryStatus;
  attempts: number;
  last_status_code: number | null;
  last_error: string | null;
  last_attempt_at: Date | null;
  next_attempt_at: Date;
  delivered_at: Date | null;
  failed_at: Date | null;
  created_at: Date;
}

export interface WebhookDeliveryStats {
  /** Webhook deliveries of the endpoint, by status. */
  counts: Record<WebhookDeliveryStatus, number>;
  /** The newest ones, newest first. */
  recent: RecentWebhookDelivery[];
}

/** How the endpoint's webhook deliveries went: counts by status and the `limit` newest. */
export async function webhookDeliveryStats(
  db: Executor,
  organizationId: string,
  endpointId: string,
  limit: number,
): Promise<WebhookDeliveryStats> {
  const [grouped, recent] = await Promise.all([
    db
      .selectFrom('webhook_deliveries')
      .select(['status', (eb) => eb.fn.countAll<string>().as('count')])
      .where('endpoint_id', '=', endpointId)
      .where('organization_id', '=', organizationId)
      .groupBy('status')
      .execute(),
    db
      .selectFrom('webhook_deliveries as d')
      .innerJoin('events as e', (join) =>
        join.onRef('e.id', '=', 'd.event_id').onRef('e.organization_id', '=', 'd.organization_id'),
      )
      .select([
        'd.id',
        'd.event_id',
        'e.type as event_type',
        'd.status',
        'd.attempts',
        'd.last_status_code',
        'd.last_error',
        'd.last_attempt_at',
        'd.next_attempt_at',
        'd.delivered_at',
        'd.failed_at',
        'd.created_at',
      ])
      .where('d.endpoint_id', '=', endpointId)
      .where('d.organization_id', '=', organizationId)
      .orderBy('d.created_at', 'desc')
      .orderBy('d.id', 'desc')
      .limit(limit)
      .execute(),
  ]);
  const counts: Record<WebhookDeliveryStatus, number> = {
    pending: 0,
    delivered: 0,
    failed: 0,
    canceled: 0,
  };
  for (const row of grouped) counts[row.status] = Number(row.count);
  return { counts, recent };
}
