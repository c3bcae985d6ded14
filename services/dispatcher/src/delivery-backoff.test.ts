import { describe, expect, it } from 'vitest';
import { RetryableDeliveryError } from '@outbound/channels';
import { deliveryBackoff } from './delivery-backoff.ts';

describe('delivery backoff', () => {
  const at = (random: number) =>
    deliveryBackoff({ baseMs: 1_000, maxMs: 60_000, random: () => random });

  it('doubles from the base, with equal jitter between half and all of it', () => {
    expect([1, 2, 3, 4].map((n) => at(0)(n, 'delivery'))).toEqual([500, 1_000, 2_000, 4_000]);
    expect([1, 2, 3, 4].map((n) => at(0.999_999)(n, 'delivery'))).toEqual([
      1_000, 2_000, 4_000, 8_000,
    ]);
    expect(at(0.5)(3, 'delivery')).toBe(3_000);
  });

  it('never grows past its maximum', () => {
    expect(at(0.999_999)(30, 'delivery')).toBe(60_000);
  });

  it("honours the provider's Retry-After when it is longer, and only then", () => {
    const slowDown = new RetryableDeliveryError('rate_limited', '429', { retryAfterMs: 7_500 });
    expect(at(0)(1, 'delivery', slowDown)).toBe(7_500);
    const soon = new RetryableDeliveryError('rate_limited', '429', { retryAfterMs: 10 });
    expect(at(0)(2, 'delivery', soon)).toBe(1_000);
    expect(at(0)(1, 'delivery', new Error('no hint'))).toBe(500);
  });
});
