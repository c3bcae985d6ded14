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
import { createDispatcherMetrics, type DispatcherMetrics } from './metrics.ts';
import { createDuePoller, type DuePoller } from './poll-due.job.ts';
import { createScheduleRunner, type ScheduleRunner } from './run-schedule.job.ts';
import { createScheduleReconciler, type ScheduleReconciler } from './schedule-reconciler.ts';
import { createSweeper, type Sweeper } from './sweep.job.ts';
import {
  createDeliverWebhookJob,
  type DeliverWebhookJobDeps,
} from './webhooks/deliver-webhook.job.ts';
import { webhookBackoff } from './webhooks/webhook-backoff.ts';
import { createWebhookRelay, type WebhookRelay } from './webhooks/webhook-relay.job.ts';
import { createWebhookSweeper, type WebhookSweeper } from './webhooks/webhook-sweep.job.ts';

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
    | 'WEBHOOK_RELAY_INTERVAL_MS'
    | 'WEBHOOK_CONCURRENCY'
    | 'WEBHOOK_TIMEOUT_MS'
    | 'WEBHOOK_MAX_ATTEMPTS'
    | 'WEBHOOK_BACKOFF_MS'
    | 'WEBHOOK_BACKOFF_MAX_MS'
    | 'WEBHOOK_ORDER_WAIT_MS'
    | 'WEBHOOK_ALLOW_HOSTS'
    | 'WEBHOOK_ALLOW_HTTP'
  >;
  logger: Logger;
  /** Closed by `close()`. */
  db: Db;
  /** A worker connection (`maxRetriesPerRequest: null`); closed by `close()`. */
  connection: Redis;
  /** Opens sender credentials for the adapters and webhook endpoints' signing secrets. */
  cipher: CredentialsCipher;
  /** Builds the adapter of a sender; the provider registry by default. */
  adapters?: AdapterFactory;
  /** Replaces the handlers of some jobs. */
  handlers?: Partial<JobHandlers>;
  /** Resolves webhook hostnames for the address check; the OS resolver by default. */
  webhookResolve?: DeliverWebhookJobDeps['resolve'];
  /** Where the dispatcher's metrics are kept; a registry of its own when omitted. */
  metrics?: DispatcherMetrics;
}

/**
 * Where a dispatcher is in its life: `starting` until `start` resolves, `running` while every
 * worker runs, `stopping` once `close` was called, `broken` when a worker stopped on its own.
 */
export type DispatcherStatus = 'starting' | 'running' | 'stopping' | 'broken';

export interface Dispatcher {
  /**
   * Checks that Redis never evicts keys (rejects with `RedisPolicyError` otherwise, starting
   * nothing), starts one worker per queue, upserts the shared `poll-due`, sweeper, webhook
   * relay and webhook sweeper schedulers, reconciles schedules once (then every
   * `RECONCILE_INTERVAL_MS`) and logs "dispatcher ready".
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
  /** Turns new events into webhook deliveries (each `relay-webhooks` job). */
  readonly webhookRelay: WebhookRelay;
  /** Re-drives pending webhook deliveries that lost their job (each `sweep-webhooks` job). */
  readonly webhookSweeper: WebhookSweeper;
  /** What this dispatcher counts (`/metrics`), its queues' depths included. */
  readonly metrics: DispatcherMetrics;
  /** Where it is in its life; what its liveness and readiness answers are made from. */
  status(): DispatcherStatus;
  /**
   * Stops taking jobs, waits for the jobs in progress to finish, then closes the Redis
   * connection and the database pool. Safe to call more than once, or before `start`.
   */
  close(): Promise<void>;
}

export function createDispatcher(deps: DispatcherDeps): Dispatcher {
  const { config, logger, connection, db } = deps;
  const queues = createQueues({ connection, prefix: config.QUEUE_PREFIX });
  const metrics = deps.metrics ?? createDispatcherMetrics();
  metrics.watchQueues(queues);
  const sweeper = createSweeper({ config, db, queues, logger });
  const scheduleRunner = createScheduleRunner({ db, queues, logger });
  const poller = createDuePoller({
    sources: [scheduleRunner.dueSource, createEmailDraftsDueSource({ db, logger })],
    queues,
    logger,
  });
  const reconciler = createScheduleReconciler({ config, db, queues, logger });
  const webhookRelay = createWebhookRelay({ db, queues, logger });
  const webhookSweeper = createWebhookSweeper({ config, db, queues, logger });
  const handlers: JobHandlers = {
    ...placeholderJobHandlers(logger),
    deliver: createDeliverJob({
      config,
      db,
      logger,
      rateLimiter: createRateLimiter({ connection, prefix: config.QUEUE_PREFIX }),
      metrics,
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
      metrics.swept(result);
      if (result.reset + result.failed + result.enqueued > 0) logger.info(result, 'swept');
    },
    relayWebhooks: async () => {
      const result = await webhookRelay.relay();
      if (result.events > 0) logger.debug(result, 'events relayed to webhooks');
    },
    sweepWebhooks: async () => {
      const enqueued = await webhookSweeper.sweep();
      if (enqueued > 0) logger.info({ enqueued }, 'webhook deliveries swept');
    },
    deliverWebhook: createDeliverWebhookJob({
      config,
      db,
      logger,
      cipher: deps.cipher,
      resolve: deps.webhookResolve,
    }),
    ...deps.handlers,
  };
  const names = Object.values(QUEUE_NAMES);
  const workers: Worker[] = [];
  let closing: Promise<void> | undefined;
  let reconcileTimer: NodeJS.Timeout | undefined;
  let reconciling: Promise<void> | undefined;
  let ready = false;

  connection.on('error', (error) => logger.error({ err: error }, 'redis connection error'));

  function workerOptions(queue: QueueName): WorkerOptions {
    return {
      connection,
      prefix: config.QUEUE_PREFIX,
      concurrency: config.DISPATCHER_CONCURRENCY,
      lockDuration: config.WORKER_LOCK_DURATION_MS,
      stalledInterval: config.WORKER_STALLED_INTERVAL_MS,
      maxStalledCount: config.WORKER_MAX_STALLED_COUNT,
      ...queueSpecificOptions(queue),
    };
  }

  /** Each queue's own retry policy; webhooks also get their own share of concurrency. */
  function queueSpecificOptions(queue: QueueName): Partial<WorkerOptions> {
    switch (queue) {
      case QUEUE_NAMES.deliveries:
        return {
          settings: { backoffStrategy: deliveryBackoff({ baseMs: config.DELIVERY_BACKOFF_MS }) },
        };
      case QUEUE_NAMES.webhooks:
        return {
          concurrency: config.WEBHOOK_CONCURRENCY,
          settings: {
            backoffStrategy: webhookBackoff({
              baseMs: config.WEBHOOK_BACKOFF_MS,
              maxMs: config.WEBHOOK_BACKOFF_MAX_MS,
            }),
          },
        };
      case QUEUE_NAMES.scheduler:
        return {};
    }
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
      relayWebhooksEveryMs: config.WEBHOOK_RELAY_INTERVAL_MS,
    });
    await reconcileInBackground();
    ready = true;
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
        (result) => metrics.reconciled(result),
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
    webhookRelay,
    webhookSweeper,
    metrics,
    status: () => {
      if (closing !== undefined) return 'stopping';
      if (!ready) return 'starting';
      return workers.every((worker) => worker.isRunning()) ? 'running' : 'broken';
    },
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
