/**
 * The slots of a repeating schedule are `first_run_at + k · interval_ms` (k ≥ 0): the first slot
 * strictly after `after`. Every time is epoch milliseconds.
 */
export function nextSlotAfter(firstRunAt: number, intervalMs: number, after: number): number {
  if (!(intervalMs > 0)) throw new RangeError(`interval must be positive, got ${intervalMs}`);
  if (after < firstRunAt) return firstRunAt;
  return firstRunAt + (Math.floor((after - firstRunAt) / intervalMs) + 1) * intervalMs;
}
