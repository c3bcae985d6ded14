import type { Config, Logger } from '@outbound/config';
import { type Db, findOverduePendingWebhookDeliveries } from '@outbound/db';
import { enqueueWebhookDeliveries, type Queues } from '@outbound/queue';
import { needsNewJob } from '../job-liveness.ts';

export interface WebhookSweeperDeps {
  config: Pick<Config, 'SWEEPER_QUEUED_AFTER_MS'>;
  db: Db;
  queues: Queues;
  logger: Logger;
  /** Rows per query; a sweep reads at most `maxPages` pages. */
  pageSize?: number;
  maxPages?: number;
}

/**
 * The webhook sweeper (the `sweep-webhooks` job, every `SWEEPER_INTERVAL_MS`): a webhook
 * delivery still `pending` more than `SWEEPER_QUEUED_AFTER_MS` after its next call was due has
 * lost its job (the enqueue after the relay's commit failed, Redis lost it, or BullMQ gave
 * up), unless a live one is found; it gets a new job (id = its id) at once. Safe in several
 * dispatchers at once: a job id is added once, and the job's writes are conditional.
 */
export function createWebhookSweeper(deps: WebhookSweeperDeps) {
  const { config, db, queues } = deps;
  const pageSize = deps.pageSize ?? 500;
  const maxPages = deps.maxPages ?? 20;

  /** Resolves with how many webhook deliveries got a new job. */
  async function sweep(): Promise<number> {
    const dueBefore = new Date(Date.now() - config.SWEEPER_QUEUED_AFTER_MS);
    let enqueued = 0;
    let afterId: string | undefined;
    for (let page = 0; page < maxPages; page += 1) {
      const overdue = await findOverduePendingWebhookDeliveries(db, {
        dueBefore,
        limit: pageSize,
        ...(afterId === undefined ? {} : { afterId }),
      });
      const needed = await Promise.all(
        overdue.map(async (delivery) =>
          (await needsNewJob(queues.webhooks, delivery.id)) ? delivery : undefined,
        ),
      );
      const missing = needed.filter((delivery) => delivery !== undefined);
      await enqueueWebhookDeliveries(
        queues,
        missing.map((delivery) => ({
          webhook_delivery_id: delivery.id,
          organization_id: delivery.organization_id,
        })),
      );
      for (const delivery of missing) {
        deps.logger.info(
          { webhook_delivery_id: delivery.id, organization_id: delivery.organization_id },
          'webhook delivery enqueued by the sweeper',
        );
      }
      enqueued += missing.length;
      if (overdue.length < pageSize) break;
      afterId = overdue[overdue.length - 1]!.id;
    }
    return enqueued;
  }

  return { sweep };
}

export type WebhookSweeper = ReturnType<typeof createWebhookSweeper>;
