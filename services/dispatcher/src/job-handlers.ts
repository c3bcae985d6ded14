import { type Job, UnrecoverableError } from 'bullmq';
import { z } from 'zod';
import type { Logger } from '@outbound/config';
import { JOBS, parsePayload, type JobKey, type JobPayload, type QueueName } from '@outbound/queue';

/**
 * Handles one job. `token` is the worker's lock token, which a handler passes to BullMQ when
 * it moves its own job (`moveToDelayed`).
 */
export type JobHandler<K extends JobKey> = (
  payload: JobPayload<K>,
  job: Job,
  token?: string,
) => Promise<void>;

/** One handler per job of the catalog; the compiler refuses a job without one. */
export type JobHandlers = { [K in JobKey]: JobHandler<K> };

/**
 * Handlers of jobs whose work arrives with later issues (due poller, schedule runner), and of
 * the rest until they are wired: they say so in the log and change nothing.
 */
export function placeholderJobHandlers(logger: Logger): JobHandlers {
  return {
    deliver: (payload, job) => {
      logger.warn({ job_id: job.id, ...payload }, 'delivery pipeline not implemented');
      return Promise.resolve();
    },
    pollDue: (_payload, job) => {
      logger.debug({ job_id: job.id }, 'due poller not implemented');
      return Promise.resolve();
    },
    runSchedule: (payload, job) => {
      logger.warn({ job_id: job.id, ...payload }, 'schedule runner not implemented');
      return Promise.resolve();
    },
    sweep: (_payload, job) => {
      logger.warn({ job_id: job.id }, 'sweeper not implemented');
      return Promise.resolve();
    },
    relayWebhooks: (_payload, job) => {
      logger.debug({ job_id: job.id }, 'webhook relay not implemented');
      return Promise.resolve();
    },
    sweepWebhooks: (_payload, job) => {
      logger.debug({ job_id: job.id }, 'webhook sweeper not implemented');
      return Promise.resolve();
    },
    deliverWebhook: (payload, job) => {
      logger.warn({ job_id: job.id, ...payload }, 'webhook delivery not implemented');
      return Promise.resolve();
    },
  };
}

const KEYS_BY_QUEUE_AND_NAME = new Map(
  (Object.keys(JOBS) as JobKey[]).map((key) => [`${JOBS[key].queue}/${JOBS[key].name}`, key]),
);

/**
 * Routes a job to its handler by queue and name, after re-checking its payload against the
 * catalog. An unknown job or a malformed payload can never succeed, so it fails at once
 * (`UnrecoverableError`) instead of burning its retries.
 */
export async function runJob(
  queue: QueueName,
  job: Job,
  handlers: JobHandlers,
  token?: string,
): Promise<void> {
  const key = KEYS_BY_QUEUE_AND_NAME.get(`${queue}/${job.name}`);
  if (key === undefined) {
    throw new UnrecoverableError(`unknown job "${job.name}" on queue ${queue}`);
  }
  let payload: JobPayload<JobKey>;
  try {
    payload = parsePayload(key, job.data);
  } catch (error) {
    const reason = error instanceof z.ZodError ? z.prettifyError(error) : String(error);
    throw new UnrecoverableError(`malformed ${job.name} payload: ${reason.replaceAll('\n', '; ')}`);
  }
  const handler = handlers[key] as JobHandler<JobKey>;
  await handler(payload, job, token);
}
