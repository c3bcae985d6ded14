import { Redis, type RedisOptions } from 'ioredis';

export interface RedisConnectionOptions {
  url: string;
  /** Shown in CLIENT LIST, which makes a busy Redis easier to read. */
  connectionName?: string;
}

/**
 * For workers: commands wait through a Redis outage instead of failing (BullMQ requires
 * `maxRetriesPerRequest: null` for its blocking connections).
 */
export function createWorkerConnection(options: RedisConnectionOptions): Redis {
  return new Redis(options.url, {
    maxRetriesPerRequest: null,
    connectionName: options.connectionName ?? 'outbound-worker',
  } satisfies RedisOptions);
}

/**
 * For the API's producer: no offline queue and one retry, so a request fails fast while Redis
 * is down (the sweeper re-enqueues from Postgres later) instead of hanging.
 */
export function createProducerConnection(options: RedisConnectionOptions): Redis {
  return new Redis(options.url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2_000,
    connectionName: options.connectionName ?? 'outbound-producer',
  } satisfies RedisOptions);
}

export class RedisPolicyError extends Error {
  override readonly name = 'RedisPolicyError';
}

/**
 * BullMQ loses jobs silently when Redis evicts keys, so anything but `noeviction` is refused.
 */
export async function assertNoEviction(redis: Redis): Promise<void> {
  const reply = await redis.config('GET', 'maxmemory-policy');
  const policy = reply[1];
  if (policy !== undefined && policy !== 'noeviction') {
    throw new RedisPolicyError(
      `Redis maxmemory-policy is "${policy}"; Outbound needs "noeviction" so queued jobs are never evicted`,
    );
  }
}

/** Resolves when Redis answers PING within `timeoutMs`, rejects otherwise. */
export async function pingRedis(redis: Redis, timeoutMs = 1_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      redis.ping(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
