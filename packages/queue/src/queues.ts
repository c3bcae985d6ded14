import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { DEFAULT_JOB_OPTIONS, JOBS, type JobKey, type JobPayload } from './job-catalog.ts';
import { QUEUE_NAMES, type QueueName } from './queue-names.ts';

export interface QueuesOptions {
  connection: Redis;
  /** Key prefix for every queue; tests give each file its own. */
  prefix: string;
}

export type Queues = Readonly<Record<QueueName, Queue>>;

/** One Queue object per queue name, sharing one connection. */
export function createQueues(options: QueuesOptions): Queues {
  const entries = Object.values(QUEUE_NAMES).map(
    (name) =>
      [
        name,
        new Queue(name, {
          connection: options.connection,
          prefix: options.prefix,
          defaultJobOptions: DEFAULT_JOB_OPTIONS[name],
        }),
      ] as const,
  );
  return Object.freeze(Object.fromEntries(entries) as Record<QueueName, Queue>);
}

export async function closeQueues(queues: Queues): Promise<void> {
  await Promise.all(Object.values(queues).map((queue) => queue.close()));
}

/** Adds a catalog job with its payload checked; `jobId` makes the add idempotent while the job lives. */
export async function enqueue<K extends JobKey>(
  queues: Queues,
  key: K,
  payload: JobPayload<K>,
  options: { jobId?: string; delay?: number } = {},
): Promise<void> {
  const job = JOBS[key];
  await queues[job.queue].add(job.name, job.payload.parse(payload), options);
}

/** A delivery's job id is the delivery id (DESIGN §4.2). */
export async function enqueueDeliveries(
  queues: Queues,
  deliveries: readonly { delivery_id: string; organization_id: string; delay?: number }[],
): Promise<void> {
  if (deliveries.length === 0) return;
  await queues.deliveries.addBulk(
    deliveries.map(({ delay, ...payload }) => ({
      name: JOBS.deliver.name,
      data: JOBS.deliver.payload.parse(payload),
      opts: { jobId: payload.delivery_id, ...(delay === undefined ? {} : { delay }) },
    })),
  );
}

/**
 * Webhook deliveries' jobs, in the order given (the relay gives event order); a job's id is
 * its webhook delivery's id, so adding one that is still queued does nothing.
 */
export async function enqueueWebhookDeliveries(
  queues: Queues,
  deliveries: readonly { webhook_delivery_id: string; organization_id: string; delay?: number }[],
): Promise<void> {
  if (deliveries.length === 0) return;
  await queues.webhooks.addBulk(
    deliveries.map(({ delay, ...payload }) => ({
      name: JOBS.deliverWebhook.name,
      data: JOBS.deliverWebhook.payload.parse(payload),
      opts: { jobId: payload.webhook_delivery_id, ...(delay === undefined ? {} : { delay }) },
    })),
  );
}
