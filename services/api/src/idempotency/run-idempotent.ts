import {
  findIdempotencyRecord,
  saveIdempotencyRecord,
  withIdempotencyLock,
  type Db,
  type Executor,
  type IdempotencyRecord,
} from '@outbound/db';
import type { z } from 'zod';
import { AppError } from '../errors/app-error.ts';

const HOUR_MS = 3_600_000;

/** Which request an idempotency key is being used for. */
export interface IdempotencyScope {
  organizationId: string;
  key: string;
  /** The operation (`POST /v2/outbound/sends`); a key used for another one is a conflict. */
  scope: string;
  /** `requestFingerprint(scope, canonical request)`. */
  fingerprint: string;
}

/** The first answer to a key, or its replay. */
export interface IdempotentAnswer<T> {
  replayed: boolean;
  status: number;
  body: T;
}

export interface RunIdempotentOptions<T> extends IdempotencyScope {
  db: Db;
  /** How long the first answer is replayed. */
  ttlHours: number;
  /** Checks a stored answer before it is replayed. */
  schema: z.ZodType<T>;
  /** The work, inside the transaction that also stores its answer; runs at most once per key. */
  work: (trx: Executor) => Promise<{ status: number; body: T }>;
}

/**
 * The stored answer for the key without waiting for anyone: a replay when the request matches,
 * a 409 when it does not, undefined when the key is new (or its first use is still running).
 * A cheap early exit; `runIdempotent` is what decides.
 */
export async function findReplay<T>(
  db: Executor,
  scope: IdempotencyScope,
  schema: z.ZodType<T>,
): Promise<IdempotentAnswer<T> | undefined> {
  const record = await findIdempotencyRecord(db, scope.organizationId, scope.key);
  return record === undefined ? undefined : replay(record, scope, schema);
}

/**
 * Runs `work` once per (organization, key) and replays its answer to every later request with
 * the same fingerprint (DESIGN §4.6). The key's advisory lock is taken first in the
 * transaction, so a concurrent duplicate waits for the first to commit and then replays it —
 * never a 409 and never a second run. A different fingerprint is a 409
 * `idempotency_key_reused`. If `work` throws, nothing is stored and the key stays unused.
 */
export async function runIdempotent<T extends object>(
  options: RunIdempotentOptions<T>,
): Promise<IdempotentAnswer<T>> {
  return withIdempotencyLock(options.db, options.organizationId, options.key, async (trx) => {
    const record = await findIdempotencyRecord(trx, options.organizationId, options.key);
    if (record !== undefined) return replay(record, options, options.schema);

    const first = await options.work(trx);
    await saveIdempotencyRecord(trx, {
      organizationId: options.organizationId,
      key: options.key,
      scope: options.scope,
      fingerprint: options.fingerprint,
      responseStatus: first.status,
      responseBody: first.body,
      expiresAt: new Date(Date.now() + options.ttlHours * HOUR_MS),
    });
    return { replayed: false, ...first };
  });
}

function replay<T>(
  record: IdempotencyRecord,
  scope: IdempotencyScope,
  schema: z.ZodType<T>,
): IdempotentAnswer<T> {
  if (record.scope !== scope.scope || record.fingerprint !== scope.fingerprint) {
    throw AppError.of(
      'idempotency_key_reused',
      `Idempotency key "${scope.key}" was already used for a different request; ` +
        'send the same request to replay it, or use a new key',
      { idempotency_key: scope.key },
    );
  }
  return { replayed: true, status: record.responseStatus, body: schema.parse(record.responseBody) };
}
