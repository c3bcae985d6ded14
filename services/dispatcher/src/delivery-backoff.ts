import type { BackoffStrategy } from 'bullmq';

export interface DeliveryBackoffOptions {
  /** The first retry waits about this long; each further one twice as long. */
  baseMs: number;
  /** No backoff grows past this (Retry-After may ask for longer, and is honoured). */
  maxMs?: number;
  /** For tests; `Math.random` otherwise. */
  random?: () => number;
}

/**
 * The backoff of delivery retries (the custom `delivery` type of the job catalog): exponential
 * from `baseMs` with equal jitter (half fixed, half random, so retries of a burst spread out
 * yet none comes back at once), or the provider's `Retry-After` when that is longer.
 */
export function deliveryBackoff(options: DeliveryBackoffOptions): BackoffStrategy {
  const maxMs = options.maxMs ?? 15 * 60_000;
  const random = options.random ?? Math.random;
  return (attemptsMade, _type, error) => {
    const exponential = Math.min(maxMs, options.baseMs * 2 ** Math.max(0, attemptsMade - 1));
    const jittered = Math.round(exponential / 2 + (random() * exponential) / 2);
    return Math.max(jittered, retryAfterOf(error));
  };
}

function retryAfterOf(error: Error | undefined): number {
  const asked = (error as { retryAfterMs?: unknown } | undefined)?.retryAfterMs;
  return typeof asked === 'number' && Number.isFinite(asked) && asked > 0 ? Math.ceil(asked) : 0;
}
