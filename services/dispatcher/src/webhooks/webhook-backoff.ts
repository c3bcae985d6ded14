import type { BackoffStrategy } from 'bullmq';

export interface WebhookBackoffOptions {
  /** The wait after the first failed call; each further one waits twice as long. */
  baseMs: number;
  /** No wait grows past this (before jitter). */
  maxMs: number;
  /** For tests; `Math.random` otherwise. */
  random?: () => number;
}

/** Jitter only adds, up to this share of the wait, so the schedule's minimum stays exact. */
const JITTER = 0.2;

/**
 * The wait before the call after failed attempt `attempt` (1 for the first call):
 * `min(maxMs, baseMs · 2^(attempt−1))`, plus up to 20 % jitter. With the defaults (1 min
 * doubling to 1 h) the waits are 1, 2, 4, 8, 16, 32 min, then 1 h each.
 */
export function webhookRetryDelayMs(attempt: number, options: WebhookBackoffOptions): number {
  const nominal = Math.min(options.maxMs, options.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(nominal * (1 + JITTER * (options.random ?? Math.random)()));
}

/**
 * The shortest time from a delivery's first call to its last, `maxAttempts` calls in all, call
 * durations left out: the sum of the nominal waits (jitter only lengthens it).
 */
export function webhookRetrySpanMs(
  maxAttempts: number,
  options: Omit<WebhookBackoffOptions, 'random'>,
): number {
  let total = 0;
  for (let attempt = 1; attempt < maxAttempts; attempt += 1) {
    total += webhookRetryDelayMs(attempt, { ...options, random: () => 0 });
  }
  return total;
}

/** A failed call that is retried: BullMQ waits `retryInMs`, as the webhook job chose. */
export class WebhookRetryError extends Error {
  override readonly name = 'WebhookRetryError';
  readonly retryInMs: number;

  constructor(message: string, retryInMs: number) {
    super(message);
    this.retryInMs = retryInMs;
  }
}

/**
 * The backoff of webhook jobs (the custom `webhook` type of the job catalog): the wait the
 * webhook job chose and recorded (`WebhookRetryError`), or, for a job that failed otherwise
 * (a database error), the same schedule by BullMQ's attempt count.
 */
export function webhookBackoff(options: WebhookBackoffOptions): BackoffStrategy {
  return (attemptsMade, _type, error) =>
    error instanceof WebhookRetryError
      ? error.retryInMs
      : webhookRetryDelayMs(attemptsMade, options);
}
