import { describe, expect, it } from 'vitest';
import { nextSlotAfter } from './schedule-slots.ts';

describe('nextSlotAfter', () => {
  const first = 1_000_000;

  it('is the first run while that is still ahead', () => {
    expect(nextSlotAfter(first, 600, first - 1)).toBe(first);
  });

  it('is strictly after the given time, on the grid of the first run', () => {
    expect(nextSlotAfter(first, 600, first)).toBe(first + 600);
    expect(nextSlotAfter(first, 600, first + 599)).toBe(first + 600);
    expect(nextSlotAfter(first, 600, first + 600)).toBe(first + 1_200);
  });

  it('skips every missed slot at once', () => {
    const tenMinutes = 600_000;
    const anHourLater = first + 3_600_000 + 5;
    expect(nextSlotAfter(first, tenMinutes, anHourLater)).toBe(first + 7 * tenMinutes);
  });

  it('refuses an interval that is not positive', () => {
    expect(() => nextSlotAfter(first, 0, first)).toThrow(RangeError);
  });
  it('lands on the grid, strictly after and at most one interval after, for any time', () => {
    const interval = 7_919;
    for (let after = first - 3 * interval; after < first + 50 * interval; after += 1_013) {
      const slot = nextSlotAfter(first, interval, after);
      if (after < first) {
        expect(slot).toBe(first);
        continue;
      }
      expect(slot).toBeGreaterThan(after);
      expect(slot - after).toBeLessThanOrEqual(interval);
      expect((slot - first) % interval).toBe(0);
    }
    // A year of one-second slots stays exact.
    const year = 366 * 24 * 3_600_000;
    expect(nextSlotAfter(first, 1_000, first + year + 1)).toBe(first + year + 1_000);
  });
});
