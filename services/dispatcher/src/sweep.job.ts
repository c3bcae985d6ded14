import type { Config, Logger } from '@outbound/config';
import {
  type Db,
  type DeliveryRef,
  findStaleQueuedDeliveries,
  findStuckSendingDeliveries,
  purgeExpiredIdempotencyRecords,
  resetStuckDelivery,
} from '@outbound/db';
import { enqueueDeliveries, type Queues } from '@outbound/queue';
import { needsNewJob } from './job-liveness.ts';

export interface SweeperDeps {
  config: Pick<
    Config,
    | 'SWEEPER_QUEUED_AFTER_MS'
    | 'WORKER_LOCK_DURATION_MS'
    | 'ADAPTER_TIMEOUT_MS'
    | 'DELIVERY_MAX_ATTEMPTS'
  >;
  db: Db;
  queues: Queues;
  logger: Logger;
  /** Rows per query; a sweep reads at most `maxPages` pages of stale deliveries. */
  pageSize?: number;
  maxPages?: number;
}

export interface SweepResult {
  /** Stuck in `sending`, moved back to `queued` and flagged `possible_duplicate`. */
  reset: number;
  /** Stuck in `sending` with no attempt left, failed with `stuck_in_sending`. */
  failed: number;
  /** Deliveries given a new job (none was waiting, or BullMQ had finished with it). */
  enqueued: number;
  /** Idempotency records past their expiry, deleted. */
  idempotencyPurged: number;
}

/**
 * Re-drives what Redis lost or BullMQ gave up on, from Postgres (DESIGN invariant 1):
 * - a delivery in `sending` longer than an adapter call and a lock can last: its dispatcher
 *   died mid-call, so it goes back to `queued` flagged as a possible duplicate, however often
 *   that happens, until its attempts reach `DELIVERY_MAX_ATTEMPTS` (then it fails with
 *   `stuck_in_sending`);
 * - a delivery `queued` and untouched for `SWEEPER_QUEUED_AFTER_MS` with no live job (the
 *   enqueue after commit failed, Redis lost it, or BullMQ failed or completed it, e.g.
 *   "stalled more than allowable limit"): a new job, id = delivery id.
 * It also deletes idempotency records past their expiry.
 * Safe to run in several dispatchers at once: every move is conditional.
 */
export function createSweeper(deps: SweeperDeps) {
  const { config, db, queues } = deps;
  const pageSize = deps.pageSize ?? 500;
  const maxPages = deps.maxPages ?? 20;
  const stuckAfterMs = config.ADAPTER_TIMEOUT_MS + config.WORKER_LOCK_DURATION_MS;

  async function sweep(): Promise<SweepResult> {
    const result: SweepResult = { reset: 0, failed: 0, enqueued: 0, idempotencyPurged: 0 };
    const claimedBefore = new Date(Date.now() - stuckAfterMs);
    const stuck = await findStuckSendingDeliveries(db, { claimedBefore, limit: pageSize });
    const requeued: DeliveryRef[] = [];
    for (const ref of stuck) {
      const outcome = await resetStuckDelivery(db, ref, {
        claimedBefore,
        maxAttempts: config.DELIVERY_MAX_ATTEMPTS,
      });
      const fields = {
        delivery_id: ref.id,
        send_id: ref.send_id,
        organization_id: ref.organization_id,
      };
      if (outcome === 'requeued') {
        result.reset += 1;
        requeued.push(ref);
        deps.logger.warn(fields, 'delivery stuck in sending; queued again as a possible duplicate');
      } else if (outcome === 'failed') {
        result.failed += 1;
        deps.logger.warn(
          { ...fields, error_code: 'stuck_in_sending' },
          'delivery stuck in sending with no attempt left; failed',
        );
      }
    }
    result.enqueued += await redrive(requeued.map((ref) => ({ ...ref, due_at: new Date(0) })));

    const updatedBefore = new Date(Date.now() - config.SWEEPER_QUEUED_AFTER_MS);
    let afterId: string | undefined;
    for (let page = 0; page < maxPages; page += 1) {
      const stale = await findStaleQueuedDeliveries(db, {
        updatedBefore,
        limit: pageSize,
        ...(afterId === undefined ? {} : { afterId }),
      });
      result.enqueued += await redrive(stale);
      if (stale.length < pageSize) break;
      afterId = stale[stale.length - 1]!.id;
    }
    result.idempotencyPurged = await purgeExpiredIdempotencyRecords(db);
    return result;
  }

  async function redrive(deliveries: readonly (DeliveryRef & { due_at: Date })[]): Promise<number> {
    const now = Date.now();
    const needed = await Promise.all(
      deliveries.map(async (delivery) =>
        (await needsNewJob(queues.deliveries, delivery.id)) ? delivery : undefined,
      ),
    );
    const missing = needed.filter((delivery) => delivery !== undefined);
    await enqueueDeliveries(
      queues,
      missing.map((delivery) => ({
        delivery_id: delivery.id,
        organization_id: delivery.organization_id,
        delay: Math.max(0, delivery.due_at.getTime() - now),
      })),
    );
    for (const delivery of missing) {
      deps.logger.info(
        {
          delivery_id: delivery.id,
          send_id: delivery.send_id,
          organization_id: delivery.organization_id,
        },
        'delivery enqueued by the sweeper',
      );
    }
    return missing.length;
  }

  return { sweep };
}

export type Sweeper = ReturnType<typeof createSweeper>;
