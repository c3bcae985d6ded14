// Driving a drain: queues under a bench prefix, waiting for them to empty, and reading from
// Postgres what the dispatchers recorded.
import type { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { sql } from 'kysely';
import type { Db } from '@outbound/db';
import { closeQueues, createQueues, type Queues } from '@outbound/queue';
import { clearPrefix, redisUrl, sleep } from './bench-support.ts';

export interface BenchQueues {
  queues: Queues;
  /** Closes the queues and deletes every key of the prefix. */
  close(): Promise<void>;
}

/** The service's queues (with its job options) under `prefix`, as the API builds them. */
export function openQueues(prefix: string): BenchQueues {
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const queues = createQueues({ connection, prefix });
  return {
    queues,
    close: async () => {
      await closeQueues(queues);
      connection.disconnect();
      await clearPrefix(prefix);
    },
  };
}

/** Resolves once `queue` holds no job that is waiting (paused included), active or delayed. */
export async function waitForDrained(queue: Queue, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const counts = await queue.getJobCounts('wait', 'active', 'delayed', 'prioritized');
    if (Object.values(counts).every((n) => n === 0)) return;
    if (performance.now() > deadline) {
      throw new Error(
        `queue ${queue.name} not drained in ${timeoutMs} ms: ${JSON.stringify(counts)}`,
      );
    }
    await sleep(100);
  }
}

/** What the sender's deliveries came to, as recorded in Postgres. */
export interface DeliveryOutcome {
  open: number;
  sent: number;
  failed: number;
  /** Epoch ms; NaN when nothing was claimed or sent. */
  firstClaimedAt: number;
  lastSentAt: number;
}

export async function deliveryOutcome(db: Db, senderId: string): Promise<DeliveryOutcome> {
  const { rows } = await sql<{
    open: string;
    sent: string;
    failed: string;
    first_claimed_at: Date | null;
    last_sent_at: Date | null;
  }>`
    SELECT count(*) FILTER (WHERE status IN ('queued', 'sending')) AS open,
           count(*) FILTER (WHERE status = 'sent') AS sent,
           count(*) FILTER (WHERE status = 'failed') AS failed,
           min(claimed_at) AS first_claimed_at,
           max(sent_at) AS last_sent_at
    FROM deliveries WHERE sender_id = ${senderId}`.execute(db);
  const row = rows[0]!;
  return {
    open: Number(row.open),
    sent: Number(row.sent),
    failed: Number(row.failed),
    firstClaimedAt: row.first_claimed_at?.getTime() ?? Number.NaN,
    lastSentAt: row.last_sent_at?.getTime() ?? Number.NaN,
  };
}

/**
 * Waits for the deliveries queue to drain (cheap to poll while the dispatchers work), then for
 * the sender's last delivery to be recorded; throws unless all `expected` were sent.
 */
export async function waitForAllSent(
  db: Db,
  queues: Queues,
  senderId: string,
  expected: number,
  timeoutMs: number,
): Promise<DeliveryOutcome> {
  const deadline = performance.now() + timeoutMs;
  await waitForDrained(queues.deliveries, timeoutMs);
  for (;;) {
    const outcome = await deliveryOutcome(db, senderId);
    if (outcome.open === 0 || performance.now() > deadline) {
      if (outcome.sent !== expected) {
        throw new Error(`expected ${expected} deliveries sent, found ${JSON.stringify(outcome)}`);
      }
      return outcome;
    }
    await sleep(100);
  }
}

/** Deliveries per second from the first claim to the last `sent` recorded. */
export function deliveriesPerSecond(outcome: DeliveryOutcome): number {
  return outcome.sent / ((outcome.lastSentAt - outcome.firstClaimedAt) / 1_000);
}
