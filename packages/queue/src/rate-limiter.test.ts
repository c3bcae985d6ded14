import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestRedis, type TestRedis } from '@outbound/test/harness';
import { createRateLimiter, type RateLimiter } from './rate-limiter.ts';

describe('rate limiter (GCRA with reservations)', () => {
  let redis: TestRedis;
  const connections: Redis[] = [];
  let limiter: RateLimiter;

  function connect(): Redis {
    const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
    connections.push(connection);
    return connection;
  }

  beforeAll(() => {
    redis = createTestRedis();
    limiter = createRateLimiter({ connection: connect(), prefix: redis.prefix });
  });
  afterAll(async () => {
    for (const connection of connections) connection.disconnect();
    await redis.clear();
  });

  it('lets an idle sender spend a burst of max, then spaces slots by window / max', async () => {
    const key = randomUUID();
    const limit = { max: 5, window_ms: 10_000 };
    const reservations = [];
    for (let i = 0; i < 8; i += 1) {
      reservations.push(await limiter.reserve({ key, reservationId: `d${i}`, limit }));
    }
    expect(reservations.slice(0, 5).map((r) => r.delayMs)).toEqual([0, 0, 0, 0, 0]);
    const later = reservations.slice(5);
    // The 6th slot is one interval after the burst began; calls take a few ms of that.
    expect(later[0]!.delayMs).toBeGreaterThan(1_900);
    expect(later[0]!.delayMs).toBeLessThanOrEqual(2_000);
    expect(later[1]!.slotAt - later[0]!.slotAt).toBe(2_000);
    expect(later[2]!.slotAt - later[1]!.slotAt).toBe(2_000);
  });

  it('keeps a reservation: asking again returns the same slot, and others queue behind it', async () => {
    const key = randomUUID();
    const limit = { max: 1, window_ms: 5_000 };
    await limiter.reserve({ key, reservationId: 'first', limit });
    const held = await limiter.reserve({ key, reservationId: 'held', limit });
    expect(held.delayMs).toBeGreaterThan(4_900);

    const again = await limiter.reserve({ key, reservationId: 'held', limit });
    expect(again.slotAt).toBe(held.slotAt);
    expect(again.delayMs).toBeLessThanOrEqual(held.delayMs);

    const other = await limiter.reserve({ key, reservationId: 'other', limit });
    expect(other.slotAt - held.slotAt).toBe(5_000);
  });

  it('uses a reservation up once its slot is reached; the next ask reserves a new slot', async () => {
    const key = randomUUID();
    const limit = { max: 1, window_ms: 200 };
    expect((await limiter.reserve({ key, reservationId: 'a', limit })).delayMs).toBe(0);
    const waiting = await limiter.reserve({ key, reservationId: 'b', limit });
    expect(waiting.delayMs).toBeGreaterThan(0);

    await sleep(waiting.delayMs + 5);
    const due = await limiter.reserve({ key, reservationId: 'b', limit });
    expect(due).toEqual({ delayMs: 0, slotAt: waiting.slotAt });

    const retry = await limiter.reserve({ key, reservationId: 'b', limit });
    expect(retry.slotAt).toBeGreaterThan(waiting.slotAt);
    expect(retry.delayMs).toBeGreaterThan(0);
  });

  it('never gives two callers the same slot, across many connections at once', async () => {
    const key = randomUUID();
    const limit = { max: 10, window_ms: 1_000 };
    const limiters = Array.from({ length: 5 }, () =>
      createRateLimiter({ connection: connect(), prefix: redis.prefix }),
    );
    const reservations = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        limiters[i % limiters.length]!.reserve({ key, reservationId: `d${i}`, limit }),
      ),
    );
    const immediate = reservations.filter((r) => r.delayMs === 0);
    const delayed = reservations.filter((r) => r.delayMs > 0).map((r) => r.slotAt);
    expect(immediate.length).toBeLessThanOrEqual(limit.max);
    expect(immediate.length + delayed.length).toBe(200);
    expect(new Set(delayed).size).toBe(delayed.length);
    const sorted = [...delayed].sort((a, b) => a - b);
    for (let i = 1; i < sorted.length; i += 1) {
      expect(sorted[i]! - sorted[i - 1]!).toBe(100);
    }
    // 190 delayed slots at 10 per second end about 19 s out.
    expect(Math.max(...reservations.map((r) => r.delayMs))).toBeGreaterThan(18_000);
  });

  it('keeps one sender from slowing another', async () => {
    const limit = { max: 2, window_ms: 60_000 };
    const busy = randomUUID();
    for (let i = 0; i < 5; i += 1) {
      await limiter.reserve({ key: busy, reservationId: `d${i}`, limit });
    }
    expect(
      (await limiter.reserve({ key: busy, reservationId: 'late', limit })).delayMs,
    ).toBeGreaterThan(60_000);
    expect((await limiter.reserve({ key: randomUUID(), reservationId: 'd0', limit })).delayMs).toBe(
      0,
    );
  });

  it('stores keys under the prefix with expiries, and forgets an idle sender', async () => {
    const key = randomUUID();
    const limit = { max: 1, window_ms: 100 };
    const probe = connect();
    await limiter.reserve({ key, reservationId: 'a', limit });
    await limiter.reserve({ key, reservationId: 'b', limit });

    const keys = (await probe.keys(`${redis.prefix}:rate:{${key}}*`)).sort();
    expect(keys).toEqual([`${redis.prefix}:rate:{${key}}`, `${redis.prefix}:rate:{${key}}:r:b`]);
    for (const stored of keys) {
      const ttl = await probe.pttl(stored);
      expect(ttl).toBeGreaterThan(0);
    }
    expect(await probe.pttl(`${redis.prefix}:rate:{${key}}`)).toBeLessThanOrEqual(201);

    await sleep(250);
    await limiter.reserve({ key, reservationId: 'b', limit });
    expect(await probe.exists(`${redis.prefix}:rate:{${key}}`)).toBe(0);
    expect(await probe.exists(`${redis.prefix}:rate:{${key}}:r:b`)).toBe(0);
  });

  it('holds the whole sender off: no slot within the hold-off, then the sustained rate', async () => {
    const key = randomUUID();
    const limit = { max: 10, window_ms: 1_000 };
    const before = await limiter.reserve({ key, reservationId: 'before', limit });
    expect(before.delayMs).toBe(0);

    await limiter.holdOff(key, 2_000);
    const slots = [];
    for (let i = 0; i < 3; i += 1) {
      slots.push(await limiter.reserve({ key, reservationId: `after-${i}`, limit }));
    }
    const holdEnd = before.slotAt + 2_000;
    expect(slots[0]!.slotAt).toBeGreaterThanOrEqual(holdEnd - 5);
    expect(slots[0]!.slotAt).toBeLessThan(holdEnd + 100);
    // After a hold-off the sender resumes at 10/s, not with a burst of 10.
    expect(slots[1]!.slotAt - slots[0]!.slotAt).toBeCloseTo(100, 0);
    expect(slots[2]!.slotAt - slots[1]!.slotAt).toBeCloseTo(100, 0);
  });

  it('voids a reservation that falls within a hold-off, and keeps a longer hold-off', async () => {
    const key = randomUUID();
    const limit = { max: 1, window_ms: 500 };
    await limiter.reserve({ key, reservationId: 'first', limit });
    const waiting = await limiter.reserve({ key, reservationId: 'waiting', limit });
    expect(waiting.delayMs).toBeGreaterThan(400);

    await limiter.holdOff(key, 3_000);
    await limiter.holdOff(key, 1_000);
    const moved = await limiter.reserve({ key, reservationId: 'waiting', limit });
    expect(moved.delayMs).toBeGreaterThan(2_900);
    // The new slot is kept like any other reservation.
    expect((await limiter.reserve({ key, reservationId: 'waiting', limit })).slotAt).toBe(
      moved.slotAt,
    );
  });

  it('refuses a limit that is not positive', async () => {
    await expect(
      limiter.reserve({ key: 'x', reservationId: 'y', limit: { max: 0, window_ms: 1_000 } }),
    ).rejects.toThrow(RangeError);
  });
});
