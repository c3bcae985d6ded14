import type { Logger } from '@outbound/config';
import { enqueueDeliveries, type Queues } from '@outbound/queue';

/** A delivery a due source committed, to enqueue. */
export interface DueDelivery {
  delivery_id: string;
  organization_id: string;
  due_at: Date;
}

/** What one `claimDue` call committed. */
export interface DueBatch {
  /** Items claimed; the poller asks again while a batch comes back full. */
  claimed: number;
  /** Deliveries of the sends the batch made, committed, to enqueue. */
  deliveries: readonly DueDelivery[];
  /**
   * Follow-up outside Postgres, run after the deliveries are enqueued (e.g. removing the job
   * scheduler of a finished schedule). Its failure is logged and undoes nothing.
   */
  afterCommit?: () => Promise<void>;
}

/**
 * One kind of due work the due-work poller serves: schedules today; drafts with a planned send
 * time (email drafts) plug in as further sources, with no change to the poller.
 *
 * An implementation guarantees that `claimDue`:
 * - claims at most `limit` items due at `now` with `FOR UPDATE SKIP LOCKED`, so pollers in
 *   several dispatchers claim disjoint items and never wait for each other;
 * - turns each claimed item into a send with its deliveries in the claim's transaction, and
 *   leaves the item no longer due once that commits (a crash before commit leaves it due, to be
 *   claimed again: nothing is made twice);
 * - resolves after commit, and never enqueues: the poller does, the same way for every source.
 * It leaves out delivering (the `deliver` job, rate limits included) and deciding when an item
 * is due (its own rows say so).
 */
export interface DueSource {
  /** For logs: `schedules`, `email-drafts`, … */
  readonly name: string;
  claimDue(options: { limit: number; now: Date }): Promise<DueBatch>;
}

/**
 * Enqueues committed deliveries (job id = delivery id), each delayed to its due time. A Redis
 * failure is logged, not thrown: the rows are committed, and the sweeper enqueues what is still
 * `queued` later (DESIGN §4.1).
 */
export async function enqueueDueDeliveries(
  queues: Queues,
  deliveries: readonly DueDelivery[],
  logger: Logger,
): Promise<void> {
  if (deliveries.length === 0) return;
  const now = Date.now();
  try {
    await enqueueDeliveries(
      queues,
      deliveries.map((delivery) => ({
        delivery_id: delivery.delivery_id,
        organization_id: delivery.organization_id,
        delay: Math.max(0, delivery.due_at.getTime() - now),
      })),
    );
  } catch (error) {
    logger.warn(
      { err: error, deliveries: deliveries.length },
      'enqueue after commit failed; the sweeper will enqueue these deliveries',
    );
  }
}
