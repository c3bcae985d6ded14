import type { Redis } from 'ioredis';
import type { RateLimit } from '@outbound/domain';

/**
 * GCRA (generic cell rate algorithm) with reservations and hold-offs, in Lua scripts so a
 * reservation is one atomic step however many processes share the limit. All times are Redis
 * server time in microseconds (integers, exact in a double up to 2^53), so the clocks of the
 * callers never matter.
 *
 * KEYS[1]: the sender's theoretical arrival time (TAT); KEYS[2]: this reservation; KEYS[3]: the
 * time until which the provider asked the sender to hold off.
 * ARGV[1]: emission interval (µs between two calls at the sustained rate); ARGV[2]: burst;
 * ARGV[3]: how long a reservation outlives its slot (ms).
 * Returns { delay µs, slot µs }.
 *
 * A reservation whose slot falls inside a hold-off is void: its caller gets a new slot after
 * the hold-off. The first slots after a hold-off come at the sustained rate, without a burst.
 */
const RESERVE_SCRIPT = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local hold = tonumber(redis.call('GET', KEYS[3]) or '0')
local kept = redis.call('GET', KEYS[2])
if kept then
  local slot = tonumber(kept)
  if slot >= hold then
    if slot <= now then
      redis.call('DEL', KEYS[2])
      return {0, slot}
    end
    return {slot - now, slot}
  end
  redis.call('DEL', KEYS[2])
end
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
if hold > now and tat < hold + (burst - 1) * interval then tat = hold + (burst - 1) * interval end
local next_tat = tat + interval
local slot = next_tat - burst * interval
if slot < now then slot = now end
redis.call('SET', KEYS[1], string.format('%.0f', next_tat), 'PX', math.ceil((next_tat - now) / 1000) + 1)
if slot > now then
  redis.call('SET', KEYS[2], string.format('%.0f', slot), 'PX',
    math.ceil((slot - now) / 1000) + tonumber(ARGV[3]))
end
return {slot - now, slot}
`;

/**
 * KEYS[1]: the hold-off key; ARGV[1]: how long to hold off (ms). Moves the hold-off to now +
 * ARGV[1] unless it already ends later. Returns the hold-off's end (µs).
 */
const HOLD_OFF_SCRIPT = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local ms = tonumber(ARGV[1])
local hold = now + ms * 1000
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if current >= hold then return current end
redis.call('SET', KEYS[1], string.format('%.0f', hold), 'PX', math.ceil(ms) + 1)
return hold
`;

const RESERVE_COMMAND = 'outboundReserveRateSlot';
const HOLD_OFF_COMMAND = 'outboundHoldOffRate';

interface RateCommands {
  [RESERVE_COMMAND]: (
    tatKey: string,
    reservationKey: string,
    holdKey: string,
    intervalMicros: number,
    burst: number,
    graceMs: number,
  ) => Promise<[number, number]>;
  [HOLD_OFF_COMMAND]: (holdKey: string, ms: number) => Promise<number>;
}

export interface ReserveOptions {
  /** Whose limit: the sender id. */
  key: string;
  /**
   * What the slot is for (the delivery id). Asking again with the same id returns the slot
   * already reserved instead of a new one, so a job that comes back at its slot uses it.
   */
  reservationId: string;
  /** The sender's `rate_limit_max` per `rate_limit_window_ms`. */
  limit: RateLimit;
}

export interface Reservation {
  /** Milliseconds from now until the reserved slot; 0 means go now. */
  delayMs: number;
  /** The slot, as a Unix time in milliseconds (Redis server clock). */
  slotAt: number;
}

export interface RateLimiterOptions {
  connection: Redis;
  /**
   * Key prefix (the queue prefix); keys are `<prefix>:rate:{<key>}`, `...:r:<reservation>` and
   * `...:hold`.
   */
  prefix: string;
  /** How long an unused future reservation is kept after its slot; 10 minutes by default. */
  reservationGraceMs?: number;
}

/**
 * Per-sender rate limits in Redis that hold across any number of dispatcher processes.
 *
 * Algorithm: GCRA. A sender allowed `max` calls per `window_ms` gets one slot every
 * `window_ms / max` (the emission interval), and an idle sender may spend a burst of `max`
 * slots at once. The burst is `max` because senders have no separate burst setting; the cost
 * is that a window following an idle spell can see up to `2·max − 1` calls, while the long-run
 * rate never exceeds `max / window_ms`.
 *
 * Guarantees:
 * - every `reserve` is one atomic Lua call, so two callers never get the same slot;
 * - reservations are real: a caller told to wait keeps its slot (under its `reservationId`)
 *   and asking again with that id returns the same slot — once reached, the slot is used up,
 *   and the next ask reserves a new one;
 * - idle senders cost nothing: the sender's key expires once its arrival time has passed, and
 *   a reservation key shortly after its slot.
 *
 * - a provider's "slow down" holds the whole sender: after `holdOff(key, ms)` no slot falls
 *   within the next `ms`, whoever asks, including callers that had reserved one.
 *
 * It leaves out fairness between callers of one sender (slots go in call order) and the wait
 * itself: the caller delays its job to the slot.
 */
export interface RateLimiter {
  reserve(options: ReserveOptions): Promise<Reservation>;
  /**
   * No slot of `key` within the next `ms` (a provider's `Retry-After`); a longer hold-off
   * already in place stands.
   */
  holdOff(key: string, ms: number): Promise<void>;
}

export function createRateLimiter(options: RateLimiterOptions): RateLimiter {
  const { connection, prefix } = options;
  const graceMs = options.reservationGraceMs ?? 10 * 60_000;
  if (!(RESERVE_COMMAND in connection)) {
    connection.defineCommand(RESERVE_COMMAND, { lua: RESERVE_SCRIPT, numberOfKeys: 3 });
    connection.defineCommand(HOLD_OFF_COMMAND, { lua: HOLD_OFF_SCRIPT, numberOfKeys: 1 });
  }
  const commands = connection as unknown as RateCommands;
  const keysOf = (key: string) => {
    const base = `${prefix}:rate:{${key}}`;
    return { tat: base, hold: `${base}:hold`, reservation: (id: string) => `${base}:r:${id}` };
  };

  return {
    async reserve({ key, reservationId, limit }) {
      if (!(limit.max >= 1 && limit.window_ms >= 1)) {
        throw new RangeError(`invalid rate limit ${limit.max} per ${limit.window_ms} ms`);
      }
      // Rounded up, so rounding can only slow a sender down, never speed it up.
      const intervalMicros = Math.ceil((limit.window_ms * 1_000) / limit.max);
      const keys = keysOf(key);
      const [delayMicros, slotMicros] = await commands[RESERVE_COMMAND].call(
        connection,
        keys.tat,
        keys.reservation(reservationId),
        keys.hold,
        intervalMicros,
        Math.floor(limit.max),
        graceMs,
      );
      return { delayMs: Math.ceil(delayMicros / 1_000), slotAt: slotMicros / 1_000 };
    },
    async holdOff(key, ms) {
      if (!(ms > 0)) return;
      await commands[HOLD_OFF_COMMAND].call(connection, keysOf(key).hold, Math.ceil(ms));
    },
  };
}
