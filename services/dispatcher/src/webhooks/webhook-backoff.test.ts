import { describe, expect, it } from 'vitest';
import { loadConfig } from '@outbound/config';
import {
  webhookBackoff,
  webhookRetryDelayMs,
  webhookRetrySpanMs,
  WebhookRetryError,
} from './webhook-backoff.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

describe('webhook backoff', () => {
  const defaults = loadConfig({});
  const options = { baseMs: defaults.WEBHOOK_BACKOFF_MS, maxMs: defaults.WEBHOOK_BACKOFF_MAX_MS };

  it('doubles from the base up to the cap: 1, 2, 4, 8, 16, 32 min, then 1 h', () => {
    const waits = [1, 2, 3, 4, 5, 6, 7, 8, 29].map((attempt) =>
      webhookRetryDelayMs(attempt, { ...options, random: () => 0 }),
    );
    expect(waits).toEqual([1, 2, 4, 8, 16, 32, 60, 60, 60].map((minutes) => minutes * MINUTE));
  });

  it('adds up to 20 % jitter, never less than the nominal wait', () => {
    expect(webhookRetryDelayMs(2, { ...options, random: () => 0.999_999 })).toBe(144_000);
    expect(webhookRetryDelayMs(30, { ...options, random: () => 0.5 })).toBe(66 * MINUTE);
  });

  it('keeps retrying for at least 24 hours with the default settings (README: 24 h 3 min)', () => {
    const span = webhookRetrySpanMs(defaults.WEBHOOK_MAX_ATTEMPTS, options);
    expect(defaults.WEBHOOK_MAX_ATTEMPTS).toBe(30);
    expect(span).toBeGreaterThanOrEqual(24 * HOUR);
    expect(span).toBe(24 * HOUR + 3 * MINUTE);
    // One attempt fewer would fall short of a day.
    expect(webhookRetrySpanMs(defaults.WEBHOOK_MAX_ATTEMPTS - 1, options)).toBeLessThan(24 * HOUR);
  });

  it('lets BullMQ wait what the job chose, or the same schedule for other failures', () => {
    const backoff = webhookBackoff({ ...options, random: () => 0 });
    expect(backoff(3, 'webhook', new WebhookRetryError('HTTP 500', 1_234))).toBe(1_234);
    expect(backoff(3, 'webhook', new Error('database unavailable'))).toBe(4 * MINUTE);
  });
});
