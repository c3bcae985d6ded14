import { once } from 'node:events';
import { RateLimitError, Worker, type WorkerOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config, Logger } from '@outbound/config';
import { type Db, isDependencyUnavailable } from '@outbound/db';
import type { CredentialsCipher } from '@outbound/domain';
import {
  assertNoEviction,
  closeQueues,
  createQueues,
  createRateLimiter,
  QUEUE_NAMES,
  type QueueName,
  upsertFixedJobSchedulers,
} from '@outbound/queue';
import { type AdapterFactory, createAdapterFactory } from './adapter-factory.ts';
import { createDeliverJob } from './deliver.job.ts';
import { deliveryBackoff } from './delivery-backoff.ts';
import { placeholderJobHandlers, runJob, type JobHandlers } from './job-handlers.ts';
import { createEmailDraftsDueSource } from './email-drafts.due-source.ts';
import { createDuePoller, type DuePoller } from './poll-due.job.ts';
import { createScheduleRunner, type ScheduleRunner } from './run-schedule.job.ts';
import { createScheduleReconciler, type ScheduleReconciler } from './schedule-reconciler.ts';
import { createSweeper, type Sweeper } from './sweep.job.ts';

/** How long a queue pauses when Postgres or Redis cannot be reached, before it tries again. */
const UNAVAILABLE_PAUSE_MS = 1_000;

export interface DispatcherDeps {
  config: Pick<
    Config,
    | 'QUEUE_PREFIX'
    | 'DISPATCHER_CONCURRENCY'
    | 'WORKER_LOCK_DURATION_MS'
    | 'WORKER_STALLED_INTERVAL_MS'
    | 'WORKER_MAX_STALLED_COUNT'
    | 'DELIVERY_MAX_ATTEMPTS'
    | 'DELIVERY_BACKOFF_MS'
    | 'ADAPTER_TIMEOUT_MS'
    | 'SWEEPER_INTERVAL_MS'
    | 'SWEEPER_QUEUED_AFTER_MS'
    | 'POLL_INTERVAL_MS'
    | 'RECONCILE_INTERVAL_MS'
  >;
  logger: Logger;
  /** Closed by `close()`. */
  db: Db;
  /** A worker connection (`maxRetriesPerRequest: null`); closed by `close()`. */
  connection: Redis;
  /** Opens sender credentials for the adapters. */
  cipher: CredentialsCipher;
  /** Builds the adapter of a sender; the provider registry by default. */
  adapters?: AdapterFactory;
  /** Replaces the handlers of some jobs. */
  handlers?: Partial<JobHandlers>;
}

export interface Dispatcher {
  /**
   * Checks that Redis never evicts keys (rejects with `RedisPolicyError` otherwise, starting
   * nothing), starts one worker per queue, upserts the shared `poll-due` and sweeper
   * schedulers, reconciles schedules once (then every `RECONCILE_INTERVAL_MS`) and logs
   * "dispatcher ready".
   */
  start(): Promise<void>;
  /** The sweeper this dispatcher runs on each `sweep` job; tests call it directly. */
  readonly sweeper: Sweeper;
  /** The due-work poller this dispatcher runs on each `poll-due` job. */
  readonly poller: DuePoller;
  /** Fires schedule occurrences (`run-schedule` jobs, and the poller's schedules source). */
  readonly scheduleRunner: ScheduleRunner;
  /** Heals schedule job schedulers from Postgres. */
  readonly reconciler: ScheduleReconciler;
  /**
   * Stops taking jobs, waits for the jobs in progress to finish, then closes the Redis
   * connection and the database pool. Safe to call more than once, or before `start`.
   */
  close(): Promise<void>;
}

export function createDispatcher(deps: DispatcherDeps): Dispatcher {
  const { config, logger, connection, db } = deps;
  const queues = createQueues({ connection, prefix: config.QUEUE_PREFIX });
  const sweeper = createSweeper({ config, db, queues, logger });
  const scheduleRunner = createScheduleRunner({ db, queues, logger });
  const poller = createDuePoller({
    sources: [scheduleRunner.dueSource, createEmailDraftsDueSource({ db, logger })],
    queues,
    logger,
  });
  const reconciler = createScheduleReconciler({ config, db, queues, logger });
  const handlers: JobHandlers = {
    ...placeholderJobHandlers(logger),
    deliver: createDeliverJob({
      config,
      db,
      logger,
      rateLimiter: createRateLimiter({ connection, prefix: config.QUEUE_PREFIX }),
      adapters:
        deps.adapters ??
        createAdapterFactory({ db, cipher: deps.cipher, timeoutMs: config.ADAPTER_TIMEOUT_MS }),
    }),
    runSchedule: async (payload) => {
      await scheduleRunner.run(payload);
    },
    pollDue: async () => {
      await poller.poll();
    },
    sweep: async () => {
      const result = await sweeper.sweep();
      if (result.reset + result.failed + result.enqueued > 0) logger.info(result, 'swept');
    },
    ...deps.handlers,
  };
  const names = Object.values(QUEUE_NAMES);
  const workers: Worker[] = [];
  let closing: Promise<void> | undefined;
  let reconcileTimer: NodeJS.Timeout | undefined;
  let reconciling: Promise<void> | undefined;

  connection.on('error', (error) => logger.error({ err: error }, 'redis connection error'));

  function workerOptions(queue: QueueName): WorkerOptions {
    return {
      connection,
      prefix: config.QUEUE_PREFIX,
      concurrency: config.DISPATCHER_CONCURRENCY,
      lockDuration: config.WORKER_LOCK_DURATION_MS,
      stalledInterval: config.WORKER_STALLED_INTERVAL_MS,
      maxStalledCount: config.WORKER_MAX_STALLED_COUNT,
      ...(queue === QUEUE_NAMES.deliveries
        ? { settings: { backoffStrategy: deliveryBackoff({ baseMs: config.DELIVERY_BACKOFF_MS }) } }
        : {}),
    };
  }

  async function start(): Promise<void> {
    if (closing !== undefined) throw new Error('the dispatcher is closed');
    if (workers.length > 0) throw new Error('the dispatcher is already started');
    await assertNoEviction(connection);
    if (closing !== undefined) return;
    for (const queue of names) {
      const worker: Worker = new Worker(
        queue,
        async (job, token) => {
          try {
            return await runJob(queue, job, handlers, token);
          } catch (error) {
            if (!isDependencyUnavailable(error)) throw error;
            // Postgres (or Redis) is unreachable: every job would fail the same way. Pause this
            // queue instead, and put the job back without spending one of its attempts.
            logger.warn(
              { err: error, queue, job_id: job.id, pause_ms: UNAVAILABLE_PAUSE_MS },
              'a dependency is unavailable; pausing the queue',
            );
            await worker.rateLimit(UNAVAILABLE_PAUSE_MS);
            throw new RateLimitError();
          }
        },
        workerOptions(queue),
      );
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
    // Every dispatcher upserts the same scheduler ids, so however many run there is one of each.
    await upsertFixedJobSchedulers(queues, {
      pollEveryMs: config.POLL_INTERVAL_MS,
      sweepEveryMs: config.SWEEPER_INTERVAL_MS,
    });
    await reconcileInBackground();
    logger.info(
      { queues: names, concurrency: config.DISPATCHER_CONCURRENCY, prefix: config.QUEUE_PREFIX },
      'dispatcher ready',
    );
  }

  /** One reconcile at a time; a failure is logged and the next interval tries again. */
  function reconcileInBackground(): Promise<void> {
    reconciling ??= reconciler
      .reconcile()
      .then(
        () => undefined,
        (error: unknown) => logger.warn({ err: error }, 'reconciling schedules failed'),
      )
      .finally(() => {
        reconciling = undefined;
        if (closing === undefined) {
          clearTimeout(reconcileTimer);
          reconcileTimer = setTimeout(
            () => void reconcileInBackground(),
            config.RECONCILE_INTERVAL_MS,
          );
          reconcileTimer.unref();
        }
      });
    return reconciling;
  }

  async function shutDown(): Promise<void> {
    clearTimeout(reconcileTimer);
    await reconciling;
    const closed = await Promise.allSettled(workers.map((worker) => worker.close()));
    await closeQueues(queues).catch(() => {});
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
    sweeper,
    poller,
    scheduleRunner,
    reconciler,
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
