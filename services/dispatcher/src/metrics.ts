import { type Channel, type Provider, withTimeout } from '@outbound/domain';
import type { Queues } from '@outbound/queue';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Prefix of the Node.js process metrics (CPU, memory, event loop, GC) of a dispatcher. */
export const DISPATCHER_PROCESS_METRICS_PREFIX = 'outbound_dispatcher_';

/** How a delivery attempt ended: recorded `sent`, recorded `failed`, or queued for a retry. */
export type DeliveryOutcome = 'sent' | 'failed' | 'retried';

/** How a provider call ended: an answer, or an error that a retry may (or cannot) outlast. */
export type ProviderCallOutcome = 'ok' | 'retryable_error' | 'permanent_error';

/** The BullMQ job states `outbound_queue_jobs` reports for every queue. */
export const QUEUE_JOB_STATES = ['waiting', 'delayed', 'active', 'failed'] as const;

/** The sweeper's moves (see `SweepResult`), as counted by `outbound_sweeper_actions_total`. */
export interface SweeperActions {
  reset: number;
  failed: number;
  enqueued: number;
}

/** The reconciler's moves (see `ReconcileResult`), as counted by `outbound_reconciler_actions_total`. */
export interface ReconcilerActions {
  upserted: number;
  removed: number;
}

/**
 * What a dispatcher measures, in a registry of its own (never prom-client's global one), so
 * each dispatcher and each test sees only what it observed. `/metrics` renders `registry`.
 * Observations take label values from closed unions, so the label sets stay small.
 */
export interface DispatcherMetrics {
  readonly registry: Registry;
  /** `outbound_deliveries_total{channel,provider,outcome}`: one per recorded outcome. */
  deliveryOutcome(sender: { channel: Channel; provider: Provider }, outcome: DeliveryOutcome): void;
  /** `outbound_provider_call_duration_seconds{provider,outcome}`: one adapter call. */
  providerCall(provider: Provider, outcome: ProviderCallOutcome, seconds: number): void;
  /**
   * `outbound_rate_limit_delays_total{provider}` and `outbound_rate_limit_delay_seconds`: a
   * delivery moved to a later rate-limit slot of its sender, and how much later.
   */
  rateLimitDelay(provider: Provider, seconds: number): void;
  /** `outbound_delivery_due_lag_seconds{channel}`: a delivery's planned time to its `sent`. */
  dueLag(channel: Channel, seconds: number): void;
  /** `outbound_sweeper_actions_total{action}`. */
  swept(actions: SweeperActions): void;
  /** `outbound_reconciler_actions_total{action}`. */
  reconciled(actions: ReconcilerActions): void;
  /**
   * Reports the jobs of `queues` by state in `outbound_queue_jobs{queue,state}`, counted on each
   * scrape. A queue whose counts do not arrive within the timeout (Redis down) is left out of
   * that scrape rather than holding it.
   */
  watchQueues(queues: Queues): void;
}

export interface DispatcherMetricsOptions {
  /** Also collect the process metrics (prefixed `outbound_dispatcher_`); true by default. */
  processMetrics?: boolean;
  /** How long a scrape waits for each queue's job counts; 1000 ms by default. */
  queueCountTimeoutMs?: number;
}

export function createDispatcherMetrics(options: DispatcherMetricsOptions = {}): DispatcherMetrics {
  const registry = new Registry();
  const registers = [registry];
  const timeoutMs = options.queueCountTimeoutMs ?? 1_000;
  if (options.processMetrics ?? true) {
    collectDefaultMetrics({ register: registry, prefix: DISPATCHER_PROCESS_METRICS_PREFIX });
  }

  const deliveries = new Counter({
    name: 'outbound_deliveries_total',
    help: 'Delivery attempts by channel, provider and outcome (sent, failed, retried)',
    labelNames: ['channel', 'provider', 'outcome'] as const,
    registers,
  });
  const providerCalls = new Histogram({
    name: 'outbound_provider_call_duration_seconds',
    help: 'Provider (adapter) call duration by provider and outcome',
    labelNames: ['provider', 'outcome'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30, 60],
    registers,
  });
  const rateLimitDelays = new Counter({
    name: 'outbound_rate_limit_delays_total',
    help: "Deliveries moved to a later slot of their sender's rate limit, by provider",
    labelNames: ['provider'] as const,
    registers,
  });
  const rateLimitDelaySeconds = new Histogram({
    name: 'outbound_rate_limit_delay_seconds',
    help: "How far deliveries were moved to a later slot of their sender's rate limit",
    labelNames: ['provider'] as const,
    buckets: [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3_600],
    registers,
  });
  const dueLag = new Histogram({
    name: 'outbound_delivery_due_lag_seconds',
    help: "Time from a delivery's planned time (due_at) to its being recorded sent, by channel",
    labelNames: ['channel'] as const,
    buckets: [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1_800, 3_600],
    registers,
  });
  const sweeperActions = new Counter({
    name: 'outbound_sweeper_actions_total',
    help: 'Sweeper moves: reset (stuck in sending, queued again), failed, enqueued (lost job)',
    labelNames: ['action'] as const,
    registers,
  });
  const reconcilerActions = new Counter({
    name: 'outbound_reconciler_actions_total',
    help: 'Schedule job schedulers the reconciler upserted (missing or stale) or removed',
    labelNames: ['action'] as const,
    registers,
  });

  let watched: Queues | undefined;
  const queueJobs = new Gauge({
    name: 'outbound_queue_jobs',
    help: 'Jobs per BullMQ queue and state (waiting, delayed, active, failed), at scrape time',
    labelNames: ['queue', 'state'] as const,
    registers,
    collect: async () => {
      queueJobs.reset();
      if (watched === undefined) return;
      const counted = await Promise.allSettled(
        Object.values(watched).map(async (queue) => ({
          queue: queue.name,
          counts: await withTimeout(queue.getJobCounts(...QUEUE_JOB_STATES), timeoutMs),
        })),
      );
      for (const result of counted) {
        if (result.status === 'rejected') continue;
        for (const state of QUEUE_JOB_STATES) {
          queueJobs.set({ queue: result.value.queue, state }, result.value.counts[state] ?? 0);
        }
      }
    },
  });

  // Every label set is there from the start (at 0), so rates and alerts see the first event.
  for (const action of ['reset', 'failed', 'enqueued'] as const) sweeperActions.inc({ action }, 0);
  for (const action of ['upserted', 'removed'] as const) reconcilerActions.inc({ action }, 0);

  return {
    registry,
    deliveryOutcome: (sender, outcome) =>
      deliveries.inc({ channel: sender.channel, provider: sender.provider, outcome }),
    providerCall: (provider, outcome, seconds) =>
      providerCalls.observe({ provider, outcome }, seconds),
    rateLimitDelay: (provider, seconds) => {
      rateLimitDelays.inc({ provider });
      rateLimitDelaySeconds.observe({ provider }, seconds);
    },
    dueLag: (channel, seconds) => dueLag.observe({ channel }, Math.max(0, seconds)),
    swept: (actions) => {
      for (const action of ['reset', 'failed', 'enqueued'] as const) {
        sweeperActions.inc({ action }, actions[action]);
      }
    },
    reconciled: (actions) => {
      for (const action of ['upserted', 'removed'] as const) {
        reconcilerActions.inc({ action }, actions[action]);
      }
    },
    watchQueues: (queues) => {
      watched = queues;
    },
  };
}
