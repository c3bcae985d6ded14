import { sql, type Transaction, type UpdateObject } from 'kysely';
import type {
  Channel,
  DeliveryStatus,
  Provider,
  SendStatus,
  SenderRole,
  SenderStatus,
} from '@outbound/domain';
import type { Database, Delivery } from '../database.ts';
import { recordEvents } from './events.repository.ts';
import type { Executor } from './executor.ts';
import { lockSend, refreshSendStatus, sendEvent } from './send-status.ts';

export { sendStatusOf, type DeliveryCounts } from './send-status.ts';

/** Enough to name a delivery in a transition, an event or a log line. */
export interface DeliveryRef {
  id: string;
  organization_id: string;
  send_id: string;
}

/** The sender fields sending needs; never its credentials (see `loadSenderCredentials`). */
export interface SendingSender {
  id: string;
  organization_id: string;
  channel: Channel;
  provider: Provider;
  name: string;
  role: SenderRole;
  status: SenderStatus;
  settings: Record<string, unknown>;
  rate_limit_max: number;
  rate_limit_window_ms: number;
}

/** A delivery with what sending it takes: its send's content, its sender, its group's name. */
export interface DeliveryForSending {
  delivery: Delivery;
  send: { id: string; channel: Channel; status: SendStatus; content: Record<string, unknown> };
  sender: SendingSender;
  /** The group's name when the recipient is a group; `null` otherwise. */
  groupName: string | null;
}

/** The delivery of the organization with its send, sender and group, or undefined. */
export async function loadDeliveryForSending(
  db: Executor,
  organizationId: string,
  deliveryId: string,
): Promise<DeliveryForSending | undefined> {
  const row = await db
    .selectFrom('deliveries as d')
    .innerJoin('sends as s', 's.id', 'd.send_id')
    .innerJoin('senders as r', 'r.id', 'd.sender_id')
    .leftJoin('groups as g', 'g.id', 'd.group_id')
    .selectAll('d')
    .select([
      's.channel as send_channel',
      's.status as send_status',
      's.content as send_content',
      'r.channel as sender_channel',
      'r.provider as sender_provider',
      'r.name as sender_name',
      'r.role as sender_role',
      'r.status as sender_status',
      'r.settings as sender_settings',
      'r.rate_limit_max as sender_rate_limit_max',
      'r.rate_limit_window_ms as sender_rate_limit_window_ms',
      'g.name as group_name',
    ])
    .where('d.organization_id', '=', organizationId)
    .where('d.id', '=', deliveryId)
    .executeTakeFirst();
  if (row === undefined) return undefined;
  const {
    send_channel,
    send_status,
    send_content,
    sender_channel,
    sender_provider,
    sender_name,
    sender_role,
    sender_status,
    sender_settings,
    sender_rate_limit_max,
    sender_rate_limit_window_ms,
    group_name,
    ...delivery
  } = row;
  return {
    delivery,
    send: {
      id: delivery.send_id,
      channel: send_channel,
      status: send_status,
      content: send_content,
    },
    sender: {
      id: delivery.sender_id,
      organization_id: delivery.organization_id,
      channel: sender_channel,
      provider: sender_provider,
      name: sender_name,
      role: sender_role,
      status: sender_status,
      settings: sender_settings,
      rate_limit_max: sender_rate_limit_max,
      rate_limit_window_ms: sender_rate_limit_window_ms,
    },
    groupName: group_name,
  };
}

/**
 * `queued → sending`: counts the attempt and stamps `claimed_at`, marks the send `sending`,
 * and records `delivery.sending`, in one transaction. Resolves with the attempt number, or
 * undefined when the delivery was not `queued` (someone else has it, or it is finished).
 */
export async function claimDelivery(
  db: Executor,
  ref: DeliveryRef,
): Promise<{ attempt: number } | undefined> {
  return inTransaction(db, async (tx) => {
    const claimed = await tx
      .updateTable('deliveries')
      .set((eb) => ({
        status: 'sending',
        attempts: eb('attempts', '+', 1),
        claimed_at: sql<Date>`now()`,
        updated_at: sql<Date>`now()`,
      }))
      .where('id', '=', ref.id)
      .where('organization_id', '=', ref.organization_id)
      .where('status', '=', 'queued')
      .returning('attempts')
      .executeTakeFirst();
    if (claimed === undefined) return undefined;
    await recordEvents(tx, [deliveryEvent(ref, 'delivery.sending', { attempt: claimed.attempts })]);
    const started = await tx
      .updateTable('sends')
      .set({ status: 'sending', updated_at: sql<Date>`now()` })
      .where('id', '=', ref.send_id)
      .where('status', '=', 'queued')
      .executeTakeFirst();
    if (started.numUpdatedRows > 0n) {
      await recordEvents(tx, [sendEvent(ref, 'sending')]);
    }
    return { attempt: claimed.attempts };
  });
}

/** Which claim a `sending` transition finishes: the attempt `claimDelivery` returned. */
export interface AttemptRef extends DeliveryRef {
  attempt: number;
}

/**
 * `sending → sent` for the given attempt (a later claim of the same delivery makes this a
 * no-op), clearing any error of earlier attempts. True when it happened.
 */
export async function markDeliverySent(
  db: Executor,
  ref: AttemptRef,
  providerMessageId: string,
): Promise<boolean> {
  return finishAttempt(
    db,
    ref,
    'sent',
    {
      provider_message_id: providerMessageId,
      sent_at: sql<Date>`now()`,
      error_code: null,
      error_message: null,
    },
    { provider_message_id: providerMessageId },
  );
}

export interface DeliveryError {
  code: string;
  /** Why, for people; never the message body or credentials. */
  message: string;
}

/** `sending → failed` for the given attempt, keeping why. True when it happened. */
export async function markDeliveryFailed(
  db: Executor,
  ref: AttemptRef,
  error: DeliveryError,
): Promise<boolean> {
  return finishAttempt(
    db,
    ref,
    'failed',
    { error_code: error.code, error_message: error.message, failed_at: sql<Date>`now()` },
    { error_code: error.code },
  );
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

async function finishAttempt(
  db: Executor,
  ref: AttemptRef,
  status: 'sent' | 'failed',
  values: UpdateObject<Database, 'deliveries'>,
  payload: Record<string, unknown>,
): Promise<boolean> {
  return inTransaction(db, async (tx) => {
    // The send row first: concurrent outcomes of one send then recompute its status one after
    // another, each seeing the others' committed rows.
    await lockSend(tx, ref.send_id);
    const moved = await tx
      .updateTable('deliveries')
      .set(values)
      .set({ status, updated_at: sql<Date>`now()` })
      .where('id', '=', ref.id)
      .where('organization_id', '=', ref.organization_id)
      .where('status', '=', 'sending')
      .where('attempts', '=', ref.attempt)
      .executeTakeFirst();
    if (moved.numUpdatedRows === 0n) return false;
    await recordEvents(tx, [
      deliveryEvent(ref, `delivery.${status}`, { attempt: ref.attempt, ...payload }),
    ]);
    await refreshSendStatus(tx, ref);
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
