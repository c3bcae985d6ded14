import {
  type AttemptOutcome,
  claimDeliveries,
  type Db,
  type DeliveryForSending,
  type DeliveryKey,
  type DeliveryRef,
  loadDeliveriesForSending,
  recordOutcomes,
} from '@outbound/db';
import { groupCommit } from './group-commit.ts';

/**
 * The deliver job's reads and writes, one delivery per call, batched underneath: calls from
 * the worker's concurrent jobs share statements (see `groupCommit`), so a delivery's
 * bookkeeping costs a share of a few round trips rather than a dozen of its own.
 */
export interface DeliveryStore {
  /** The delivery with its send, sender and group; undefined when it does not exist. */
  load(key: DeliveryKey): Promise<DeliveryForSending | undefined>;
  /** `queued → sending`: the attempt number, or undefined when it was not `queued`. */
  claim(ref: DeliveryRef): Promise<number | undefined>;
  /** `sending → sent | failed` for that attempt: false when the attempt is no longer current. */
  record(outcome: AttemptOutcome): Promise<boolean>;
}

export interface DeliveryStoreOptions {
  /** The most deliveries one statement handles. */
  maxBatch?: number;
  /** Transactions of each kind at once (each holds a pooled connection while it runs). */
  maxInFlight?: number;
}

/** Postgres gave up on a transaction to break a lock cycle; running it again is safe. */
const DEADLOCK_DETECTED = '40P01';
const DEADLOCK_RETRIES = 3;

export function createDeliveryStore(db: Db, options: DeliveryStoreOptions = {}): DeliveryStore {
  const batching = { maxBatch: options.maxBatch ?? 64, maxInFlight: options.maxInFlight ?? 2 };
  const load = groupCommit(async (keys: DeliveryKey[]) => {
    const loaded = await loadDeliveriesForSending(db, keys);
    return keys.map((key) => loaded.get(key.id));
  }, batching);
  const claim = groupCommit(async (refs: DeliveryRef[]) => {
    const claimed = await retryDeadlocks(() => claimDeliveries(db, refs));
    // A delivery asked for twice in one batch is claimed once: only the first asker has it.
    const given = new Set<string>();
    return refs.map((ref) => {
      if (given.has(ref.id)) return undefined;
      given.add(ref.id);
      return claimed.get(ref.id);
    });
  }, batching);
  const record = groupCommit(async (outcomes: AttemptOutcome[]) => {
    const moved = await retryDeadlocks(() => recordOutcomes(db, outcomes));
    const given = new Set<string>();
    return outcomes.map(({ attempt }) => {
      if (given.has(attempt.id) || !moved.has(attempt.id)) return false;
      given.add(attempt.id);
      return true;
    });
  }, batching);
  return { load, claim, record };
}

async function retryDeadlocks<T>(work: () => Promise<T>): Promise<T> {
  for (let retry = 0; ; retry += 1) {
    try {
      return await work();
    } catch (error) {
      const code = (error as { code?: unknown } | null)?.code;
      if (code !== DEADLOCK_DETECTED || retry >= DEADLOCK_RETRIES) throw error;
    }
  }
}
