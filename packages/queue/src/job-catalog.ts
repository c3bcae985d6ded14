import { z } from 'zod';
import type { DefaultJobOptions } from 'bullmq';
import { QUEUE_NAMES, type QueueName } from './queue-names.ts';

/**
 * The one catalog of jobs, shared by producers and workers: each job's queue, payload schema
 * and options. Payloads hold ids only; workers re-read the truth from Postgres and re-check
 * the payload when they pick a job up.
 */
export const JOBS = {
  deliver: {
    queue: QUEUE_NAMES.deliveries,
    name: 'deliver',
    payload: z.object({ delivery_id: z.uuid(), organization_id: z.uuid() }),
  },
  pollDue: {
    queue: QUEUE_NAMES.scheduler,
    name: 'poll-due',
    payload: z.object({}),
  },
  runSchedule: {
    queue: QUEUE_NAMES.scheduler,
    name: 'run-schedule',
    payload: z.object({ schedule_id: z.uuid(), organization_id: z.uuid() }),
  },
  /** Re-drives unfinished deliveries from Postgres (a job scheduler, `SWEEPER_SCHEDULER_ID`). */
  sweep: {
    queue: QUEUE_NAMES.scheduler,
    name: 'sweep',
    payload: z.object({}),
  },
  /** Turns unrelayed events into webhook deliveries (`WEBHOOK_RELAY_SCHEDULER_ID`). */
  relayWebhooks: {
    queue: QUEUE_NAMES.scheduler,
    name: 'relay-webhooks',
    payload: z.object({}),
  },
  /** Re-drives pending webhook deliveries left without a job (`WEBHOOK_SWEEPER_SCHEDULER_ID`). */
  sweepWebhooks: {
    queue: QUEUE_NAMES.scheduler,
    name: 'sweep-webhooks',
    payload: z.object({}),
  },
  /** One call (and its retries) of one event to one endpoint; job id = webhook delivery id. */
  deliverWebhook: {
    queue: QUEUE_NAMES.webhooks,
    name: 'deliver-webhook',
    payload: z.object({ webhook_delivery_id: z.uuid(), organization_id: z.uuid() }),
  },
} as const satisfies Record<string, { queue: QueueName; name: string; payload: z.ZodType }>;

export type JobKey = keyof typeof JOBS;
export type JobPayload<K extends JobKey> = z.infer<(typeof JOBS)[K]['payload']>;

/** The one job scheduler every dispatcher upserts for the sweeper, so they share it. */
export const SWEEPER_SCHEDULER_ID = 'outbound:sweeper';

/** The shared job schedulers of the webhook relay and of the webhook sweeper. */
export const WEBHOOK_RELAY_SCHEDULER_ID = 'outbound:webhook-relay';
export const WEBHOOK_SWEEPER_SCHEDULER_ID = 'outbound:webhook-sweeper';

/**
 * The backoff type of delivery jobs: a custom strategy the dispatcher's worker defines
 * (exponential with jitter from `DELIVERY_BACKOFF_MS`, honouring `Retry-After`).
 */
export const DELIVERY_BACKOFF_TYPE = 'delivery';

/**
 * A ceiling, not the policy: the dispatcher fails a delivery itself after
 * `DELIVERY_MAX_ATTEMPTS` (at most 50) provider calls, so BullMQ must never give up first.
 */
export const DELIVERY_JOB_ATTEMPTS = 50;

/**
 * The backoff type of webhook jobs: the dispatcher's worker waits as long as the failed
 * attempt asked (the webhook delivery's own schedule, see `WEBHOOK_BACKOFF_MS`).
 */
export const WEBHOOK_BACKOFF_TYPE = 'webhook';

/**
 * A ceiling, as for deliveries: the dispatcher fails a webhook delivery itself after
 * `WEBHOOK_MAX_ATTEMPTS` (at most 100) calls, counted in Postgres.
 */
export const WEBHOOK_JOB_ATTEMPTS = 100;

/**
 * Finished jobs are trimmed by count and age, so Redis memory stays flat however many
 * messages pass; Postgres keeps the history.
 */
export const DEFAULT_JOB_OPTIONS: Record<QueueName, DefaultJobOptions> = {
  deliveries: {
    attempts: DELIVERY_JOB_ATTEMPTS,
    backoff: { type: DELIVERY_BACKOFF_TYPE },
    removeOnComplete: { count: 1_000, age: 3_600 },
    removeOnFail: { count: 5_000, age: 7 * 24 * 3_600 },
  },
  scheduler: {
    attempts: 3,
    backoff: { type: 'exponential', delay: 1_000 },
    removeOnComplete: { count: 100, age: 3_600 },
    removeOnFail: { count: 1_000, age: 7 * 24 * 3_600 },
  },
  webhooks: {
    attempts: WEBHOOK_JOB_ATTEMPTS,
    backoff: { type: WEBHOOK_BACKOFF_TYPE },
    removeOnComplete: { count: 1_000, age: 3_600 },
    removeOnFail: { count: 5_000, age: 7 * 24 * 3_600 },
  },
};

/** Parses a job's payload against the catalog; throws a ZodError for a malformed job. */
export function parsePayload<K extends JobKey>(key: K, data: unknown): JobPayload<K> {
  return JOBS[key].payload.parse(data) as JobPayload<K>;
}
