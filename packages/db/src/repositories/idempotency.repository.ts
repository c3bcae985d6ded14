import { sql, type Kysely } from 'kysely';
import type { Database } from '../database.ts';
import type { Executor } from './executor.ts';

/** The first answer to an (organization, idempotency key), as replayed to duplicates. */
export interface IdempotencyRecord {
  organizationId: string;
  key: string;
  /** What the key was used for (e.g. `POST /v2/outbound/sends`). */
  scope: string;
  /** sha256 of the canonical request; a different fingerprint means a different request. */
  fingerprint: string;
  responseStatus: number;
  responseBody: object;
  createdAt: Date;
  expiresAt: Date;
}

/**
 * Runs `work` in a new transaction that first takes a transaction-scoped advisory lock on
 * (organization, key): a second caller with the same key waits until the first commits or
 * rolls back, then reads what it left. Read the record inside `work`, after the lock.
 */
export async function withIdempotencyLock<T>(
  db: Kysely<Database>,
  organizationId: string,
  key: string,
  work: (trx: Executor) => Promise<T>,
): Promise<T> {
  return db.transaction().execute(async (trx) => {
    // One 64-bit lock id per (organization, key); a hash collision only makes two keys wait
    // for each other, never share a record.
    const lockId = `idempotency:${organizationId}:${key}`;
    await sql`SELECT pg_advisory_xact_lock(hashtextextended(${lockId}, 0))`.execute(trx);
    return work(trx);
  });
}

/** The live (unexpired) record for the key, or undefined. */
export async function findIdempotencyRecord(
  db: Executor,
  organizationId: string,
  key: string,
  now: Date = new Date(),
): Promise<IdempotencyRecord | undefined> {
  const row = await db
    .selectFrom('idempotency_records')
    .selectAll()
    .where('organization_id', '=', organizationId)
    .where('idempotency_key', '=', key)
    .where('expires_at', '>', now)
    .executeTakeFirst();
  if (row === undefined) return undefined;
  return {
    organizationId: row.organization_id,
    key: row.idempotency_key,
    scope: row.scope,
    fingerprint: row.fingerprint,
    responseStatus: row.response_status,
    responseBody: row.response_body,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
  };
}

export interface SaveIdempotencyRecordOptions {
  organizationId: string;
  key: string;
  scope: string;
  fingerprint: string;
  responseStatus: number;
  responseBody: object;
  expiresAt: Date;
}

/**
 * Stores the first answer for a key, in the transaction that did the work (holding the key's
 * lock, having found no live record). An expired record not yet purged is replaced.
 */
export async function saveIdempotencyRecord(
  db: Executor,
  options: SaveIdempotencyRecordOptions,
): Promise<void> {
  await db
    .deleteFrom('idempotency_records')
    .where('organization_id', '=', options.organizationId)
    .where('idempotency_key', '=', options.key)
    .where('expires_at', '<=', sql<Date>`now()`)
    .execute();
  await db
    .insertInto('idempotency_records')
    .values({
      organization_id: options.organizationId,
      idempotency_key: options.key,
      scope: options.scope,
      fingerprint: options.fingerprint,
      response_status: options.responseStatus,
      response_body: JSON.stringify(options.responseBody),
      expires_at: options.expiresAt,
    })
    .execute();
}

/**
 * Deletes records that expired before `now`, at most `batchSize` at a time, and returns how
 * many went. Call it periodically (the dispatcher's sweeper); call again while it returns
 * `batchSize` to drain a backlog.
 */
export async function purgeExpiredIdempotencyRecords(
  db: Executor,
  options: { now?: Date; batchSize?: number } = {},
): Promise<number> {
  const now = options.now ?? new Date();
  const batchSize = options.batchSize ?? 1_000;
  const result = await db
    .deleteFrom('idempotency_records')
    .where((eb) =>
      eb(
        eb.refTuple('organization_id', 'idempotency_key'),
        'in',
        eb
          .selectFrom('idempotency_records as expired')
          .select(['expired.organization_id', 'expired.idempotency_key'])
          .where('expired.expires_at', '<=', now)
          .limit(batchSize)
          .$asTuple('organization_id', 'idempotency_key'),
      ),
    )
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** The send that already carries an idempotency key in the organization, if any. */
export async function findSendIdByIdempotencyKey(
  db: Executor,
  organizationId: string,
  key: string,
): Promise<string | undefined> {
  const row = await db
    .selectFrom('sends')
    .select('id')
    .where('organization_id', '=', organizationId)
    .where('idempotency_key', '=', key)
    .executeTakeFirst();
  return row?.id;
}
