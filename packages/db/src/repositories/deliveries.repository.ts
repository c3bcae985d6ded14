import { sql, type Transaction } from 'kysely';
import type { DeliveryStatus } from '@outbound/domain';
import type { Database } from '../database.ts';
import { recordEvents } from './events.repository.ts';
import type { Executor } from './executor.ts';
import type { Db } from '../connection.ts';
import {
  claimDeliveries,
  loadDeliveriesForSending,
  recordOutcomes,
} from './delivery-batches.repository.ts';
import type {
  AttemptRef,
  DeliveryError,
  DeliveryForSending,
  DeliveryRef,
} from './delivery-types.ts';
import { lockSend, refreshSendStatus } from './send-status.ts';

export { sendStatusOf, type DeliveryCounts } from './send-status.ts';

export type {
  AttemptRef,
  DeliveryError,
  DeliveryForSending,
  DeliveryRef,
  SendingSender,
} from './delivery-types.ts';

/** The delivery of the organization with its send, sender and group, or undefined. */
export async function loadDeliveryForSending(
  db: Executor,
  organizationId: string,
  deliveryId: string,
): Promise<DeliveryForSending | undefined> {
  const loaded = await loadDeliveriesForSending(db, [
    { id: deliveryId, organization_id: organizationId },
  ]);
  return loaded.get(deliveryId);
}

/**
 * `queued → sending` for one delivery (`claimDeliveries` for one). Resolves with the attempt
 * number, or undefined when the delivery was not `queued` (someone else has it, or it is done).
 */
export async function claimDelivery(
  db: Db,
  ref: DeliveryRef,
): Promise<{ attempt: number } | undefined> {
  const attempt = (await claimDeliveries(db, [ref])).get(ref.id);
  return attempt === undefined ? undefined : { attempt };
}

/**
 * `sending → sent` for the given attempt (a later claim of the same delivery makes this a
 * no-op), clearing any error of earlier attempts. True when it happened.
 */
export async function markDeliverySent(
  db: Db,
  ref: AttemptRef,
  providerMessageId: string,
): Promise<boolean> {
  const moved = await recordOutcomes(db, [{ attempt: ref, status: 'sent', providerMessageId }]);
  return moved.has(ref.id);
}

/** `sending → failed` for the given attempt, keeping why. True when it happened. */
export async function markDeliveryFailed(
  db: Db,
  ref: AttemptRef,
  error: DeliveryError,
): Promise<boolean> {
  const moved = await recordOutcomes(db, [{ attempt: ref, status: 'failed', error }]);
  return moved.has(ref.id);
}

/**
 * `sending → queued` for the given attempt: a retry comes. Keeps the attempt's error on the
 * row so a reader sees why it is waiting. With `possibleDuplicate` (the provider may have
 * taken the attempt although it did not say so: no answer in time, connection dropped), the
 * delivery is flagged `possible_duplicate`, since the retry may reach the recipient again.
 * True when it happened.
 */
export async function requeueDelivery(
  db: Executor,
  ref: AttemptRef,
  error: DeliveryError,
  options: { possibleDuplicate?: boolean } = {},
): Promise<boolean> {
  const flagged = options.possibleDuplicate === true;
  return inTransaction(db, async (tx) => {
    const moved = await tx
      .updateTable('deliveries')
      .set({
        status: 'queued',
        error_code: error.code,
        error_message: error.message,
        updated_at: sql<Date>`now()`,
        ...(flagged ? { possible_duplicate: true } : {}),
      })
      .where('id', '=', ref.id)
      .where('organization_id', '=', ref.organization_id)
      .where('status', '=', 'sending')
      .where('attempts', '=', ref.attempt)
      .executeTakeFirst();
    if (moved.numUpdatedRows === 0n) return false;
    await recordEvents(tx, [
      deliveryEvent(ref, 'delivery.retrying', {
        attempt: ref.attempt,
        error_code: error.code,
        ...(flagged ? { possible_duplicate: true } : {}),
      }),
    ]);
    return true;
  });
}

/** A delivery the sweeper may re-drive. */
export interface UnfinishedDelivery extends DeliveryRef {
  due_at: Date;
  updated_at: Date;
}

export interface StaleQueuedOptions {
  /** Only deliveries `queued` and untouched since before this moment. */
  updatedBefore: Date;
  limit: number;
  /** Keyset cursor: the last id of the previous page. */
  afterId?: string;
}

/**
 * `queued` deliveries nobody has touched for a while, one page at a time in id order (ids are
 * UUIDv7, so oldest first).
 */
export async function findStaleQueuedDeliveries(
  db: Executor,
  options: StaleQueuedOptions,
): Promise<UnfinishedDelivery[]> {
  let query = db
    .selectFrom('deliveries')
    .select(['id', 'organization_id', 'send_id', 'due_at', 'updated_at'])
    .where('status', '=', 'queued')
    .where('updated_at', '<', options.updatedBefore);
  if (options.afterId !== undefined) query = query.where('id', '>', options.afterId);
  return query.orderBy('id').limit(options.limit).execute();
}

/** `sending` deliveries claimed before `claimedBefore`: their dispatcher likely died. */
export async function findStuckSendingDeliveries(
  db: Executor,
  options: { claimedBefore: Date; limit: number },
): Promise<DeliveryRef[]> {
  return db
    .selectFrom('deliveries')
    .select(['id', 'organization_id', 'send_id'])
    .where('status', '=', 'sending')
    .where('claimed_at', '<', options.claimedBefore)
    .orderBy('claimed_at')
    .limit(options.limit)
    .execute();
}

/** What the sweeper did with a stuck delivery. */
export type StuckOutcome = 'requeued' | 'failed' | 'untouched';

/** The error a delivery gets when it is found stuck in `sending` with no attempt left. */
export const STUCK_IN_SENDING: DeliveryError = {
  code: 'stuck_in_sending',
  message:
    'the dispatcher stopped while sending this delivery and its attempts are exhausted; the ' +
    'outcome of its last attempt is unknown (the provider may or may not have it), so it is ' +
    'not retried again',
};

export interface StuckDeliveryOptions {
  /** Only a delivery claimed before this moment counts as stuck. */
  claimedBefore: Date;
  /** `DELIVERY_MAX_ATTEMPTS`: a stuck delivery with this many attempts fails instead. */
  maxAttempts: number;
}

/**
 * A delivery left in `sending` since before `claimedBefore` (its dispatcher stopped mid-call,
 * so the provider may or may not have it) goes back to `queued` flagged `possible_duplicate`,
 * as often as it is found stuck, while it has attempts left; once its attempts reach
 * `maxAttempts` it fails with `stuck_in_sending` instead, so a delivery that kills its
 * dispatcher every time cannot loop forever. `untouched` when it was no longer stuck.
 */
export async function resetStuckDelivery(
  db: Executor,
  ref: DeliveryRef,
  options: StuckDeliveryOptions,
): Promise<StuckOutcome> {
  return inTransaction(db, async (tx) => {
    await lockSend(tx, ref.send_id);
    const stuck = await tx
      .selectFrom('deliveries')
      .select('attempts')
      .where('id', '=', ref.id)
      .where('organization_id', '=', ref.organization_id)
      .where('status', '=', 'sending')
      .where('claimed_at', '<', options.claimedBefore)
      .forUpdate()
      .executeTakeFirst();
    if (stuck === undefined) return 'untouched';
    const failing = stuck.attempts >= options.maxAttempts;
    const status: DeliveryStatus = failing ? 'failed' : 'queued';
    await tx
      .updateTable('deliveries')
      .set(
        failing
          ? {
              status,
              error_code: STUCK_IN_SENDING.code,
              error_message: STUCK_IN_SENDING.message,
              failed_at: sql<Date>`now()`,
            }
          : { status },
      )
      .set({ possible_duplicate: true, updated_at: sql<Date>`now()` })
      .where('id', '=', ref.id)
      .execute();
    await recordEvents(tx, [
      deliveryEvent(ref, failing ? 'delivery.failed' : 'delivery.reset', {
        attempt: stuck.attempts,
        possible_duplicate: true,
        ...(failing ? { error_code: STUCK_IN_SENDING.code } : { reason: 'stuck_in_sending' }),
      }),
    ]);
    if (failing) await refreshSendStatus(tx, ref);
    return failing ? 'failed' : 'requeued';
  });
}

function deliveryEvent(ref: DeliveryRef, type: string, payload: Record<string, unknown>) {
  return {
    organizationId: ref.organization_id,
    type,
    sendId: ref.send_id,
    deliveryId: ref.id,
    payload,
  };
}

/** Runs `work` in the caller's transaction when there is one, else in a new one. */
async function inTransaction<T>(
  db: Executor,
  work: (tx: Transaction<Database>) => Promise<T>,
): Promise<T> {
  return db.isTransaction ? work(db as Transaction<Database>) : db.transaction().execute(work);
}
