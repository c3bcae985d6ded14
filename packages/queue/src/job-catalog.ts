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
} as const satisfies Record<string, { queue: QueueName; name: string; payload: z.ZodType }>;

export type JobKey = keyof typeof JOBS;
export type JobPayload<K extends JobKey> = z.infer<(typeof JOBS)[K]['payload']>;

/**
 * Finished jobs are trimmed by count and age, so Redis memory stays flat however many
 * messages pass; Postgres keeps the history.
 */
export const DEFAULT_JOB_OPTIONS: Record<QueueName, DefaultJobOptions> = {
  deliveries: {
    attempts: 5,
    backoff: { type: 'exponential', delay: 2_000 },
    removeOnComplete: { count: 1_000, age: 3_600 },
    removeOnFail: { count: 5_000, age: 7 * 24 * 3_600 },
  },
  scheduler: {
    attempts: 3,
    backoff: { type: 'exponential', delay: 1_000 },
    removeOnComplete: { count: 100, age: 3_600 },
    removeOnFail: { count: 1_000, age: 7 * 24 * 3_600 },
  },
};

/** Parses a job's payload against the catalog; throws a ZodError for a malformed job. */
export function parsePayload<K extends JobKey>(key: K, data: unknown): JobPayload<K> {
  return JOBS[key].payload.parse(data) as JobPayload<K>;
}
