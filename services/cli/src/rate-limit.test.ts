import { describe, expect, it } from 'vitest';
import { formatRateLimit, rateLimitTextSchema } from './rate-limit.ts';

describe('rate limit text', () => {
  it.each([
    ['600/60s', { max: 600, window_ms: 60_000 }],
    ['20/1m', { max: 20, window_ms: 60_000 }],
    ['600/min', { max: 600, window_ms: 60_000 }],
    ['5/500ms', { max: 5, window_ms: 500 }],
    [' 100 / 2h ', { max: 100, window_ms: 7_200_000 }],
  ])('reads %s', (text, expected) => {
    expect(rateLimitTextSchema.parse(text)).toEqual(expected);
  });

  it.each([
    ['600', /expected <max>\/<window>/],
    ['600/60', /expected <max>\/<window>/],
    ['fast', /expected <max>\/<window>/],
    ['-1/60s', /expected <max>\/<window>/],
    ['0/60s', /maximum must be a positive/],
    ['600/0s', /window must be a positive/],
    ['600/1000h', /too large/],
  ])('rejects %s', (text, message) => {
    const parsed = rateLimitTextSchema.safeParse(text);
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]?.message).toMatch(message);
  });

  it('formats a limit the way it would be typed, and reads it back', () => {
    for (const limit of [
      { max: 600, window_ms: 60_000 },
      { max: 5, window_ms: 1_500 },
      { max: 1, window_ms: 3_600_000 },
      { max: 3, window_ms: 2_000 },
    ]) {
      expect(rateLimitTextSchema.parse(formatRateLimit(limit))).toEqual(limit);
    }
    expect(formatRateLimit({ max: 600, window_ms: 60_000 })).toBe('600/1m');
  });
});
