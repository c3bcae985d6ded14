import type { Logger } from '@outbound/config';
import type { Queues } from '@outbound/queue';
import { type DueSource, enqueueDueDeliveries } from './due-source.ts';

export interface DuePollerDeps {
  sources: readonly DueSource[];
  queues: Queues;
  logger: Logger;
  /** Items claimed per transaction. */
  batchSize?: number;
  /** Batches per source and poll, so one busy source cannot hold a poll forever. */
  maxBatches?: number;
}

/** Items each source claimed in one poll, by source name. */
export type PollResult = Record<string, number>;

/**
 * The `poll-due` job (a job scheduler every `POLL_INTERVAL_MS`, shared by every dispatcher):
 * asks each due source in turn for batches of due items until a batch comes back short, and
 * enqueues what each batch committed. A failing source is logged and the others still run; the
 * next poll tries it again. Sources claim with `SKIP LOCKED`, so polls running at once in
 * several dispatchers share the work instead of repeating it.
 */
export function createDuePoller(deps: DuePollerDeps) {
  const { sources, queues, logger } = deps;
  const batchSize = deps.batchSize ?? 100;
  const maxBatches = deps.maxBatches ?? 10;

  async function poll(): Promise<PollResult> {
    const result: PollResult = {};
    for (const source of sources) {
      let total = 0;
      try {
        for (let batch = 0; batch < maxBatches; batch += 1) {
          const claimed = await source.claimDue({ limit: batchSize, now: new Date() });
          total += claimed.claimed;
          await enqueueDueDeliveries(queues, claimed.deliveries, logger);
          await claimed.afterCommit?.().catch((error: unknown) => {
            logger.warn({ err: error, source: source.name }, 'due source follow-up failed');
          });
          if (claimed.claimed < batchSize) break;
        }
      } catch (error) {
        logger.error({ err: error, source: source.name }, 'due source failed; retried next poll');
      }
      result[source.name] = total;
    }
    return result;
  }

  return { poll };
}

export type DuePoller = ReturnType<typeof createDuePoller>;
