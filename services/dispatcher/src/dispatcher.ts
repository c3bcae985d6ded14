import { once } from 'node:events';
import { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config, Logger } from '@outbound/config';
import type { Db } from '@outbound/db';
import { assertNoEviction, QUEUE_NAMES } from '@outbound/queue';
import { placeholderJobHandlers, runJob, type JobHandlers } from './job-handlers.ts';

export interface DispatcherDeps {
  config: Pick<
    Config,
    | 'QUEUE_PREFIX'
    | 'DISPATCHER_CONCURRENCY'
    | 'WORKER_LOCK_DURATION_MS'
    | 'WORKER_STALLED_INTERVAL_MS'
    | 'WORKER_MAX_STALLED_COUNT'
  >;
  logger: Logger;
  /** Closed by `close()`. */
  db: Db;
  /** A worker connection (`maxRetriesPerRequest: null`); closed by `close()`. */
  connection: Redis;
  /** Replaces the handlers of some jobs (see `placeholderJobHandlers`). */
  handlers?: Partial<JobHandlers>;
}

export interface Dispatcher {
  /**
   * Checks that Redis never evicts keys (rejects with `RedisPolicyError` otherwise, starting
   * nothing), then starts one worker per queue and logs "dispatcher ready".
   */
  start(): Promise<void>;
  /**
   * Stops taking jobs, waits for the jobs in progress to finish, then closes the Redis
   * connection and the database pool. Safe to call more than once, or before `start`.
   */
  close(): Promise<void>;
}

export function createDispatcher(deps: DispatcherDeps): Dispatcher {
  const { config, logger, connection, db } = deps;
  const handlers: JobHandlers = { ...placeholderJobHandlers(logger), ...deps.handlers };
  const queues = Object.values(QUEUE_NAMES);
  const workers: Worker[] = [];
  let closing: Promise<void> | undefined;

  connection.on('error', (error) => logger.error({ err: error }, 'redis connection error'));

  async function start(): Promise<void> {
    if (closing !== undefined) throw new Error('the dispatcher is closed');
    if (workers.length > 0) throw new Error('the dispatcher is already started');
    await assertNoEviction(connection);
    if (closing !== undefined) return;
    for (const queue of queues) {
      const worker = new Worker(queue, (job) => runJob(queue, job, handlers), {
        connection,
        prefix: config.QUEUE_PREFIX,
        concurrency: config.DISPATCHER_CONCURRENCY,
        lockDuration: config.WORKER_LOCK_DURATION_MS,
        stalledInterval: config.WORKER_STALLED_INTERVAL_MS,
        maxStalledCount: config.WORKER_MAX_STALLED_COUNT,
      });
      worker.on('error', (error) => logger.error({ err: error, queue }, 'worker error'));
      worker.on('failed', (job, error) =>
        logger.warn(
          { queue, job_id: job?.id, job_name: job?.name, attempts: job?.attemptsMade, err: error },
          'job failed',
        ),
      );
      workers.push(worker);
    }
    await Promise.all(workers.map((worker) => worker.waitUntilReady()));
    logger.info(
      { queues, concurrency: config.DISPATCHER_CONCURRENCY, prefix: config.QUEUE_PREFIX },
      'dispatcher ready',
    );
  }

  async function shutDown(): Promise<void> {
    const closed = await Promise.allSettled(workers.map((worker) => worker.close()));
    await disconnect(connection);
    await db.destroy();
    const failures = closed.filter((result) => result.status === 'rejected');
    if (failures.length > 0) {
      throw new AggregateError(
        failures.map((failure) => failure.reason as unknown),
        'a worker failed to close',
      );
    }
    logger.info('dispatcher stopped');
  }

  return {
    start,
    close: () => (closing ??= shutDown()),
  };
}

/** Resolves once the connection has ended (`disconnect` alone returns before it has). */
async function disconnect(connection: Redis): Promise<void> {
  if (connection.status === 'end') return;
  const ended = once(connection, 'end');
  connection.disconnect();
  await ended;
}
