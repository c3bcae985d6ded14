import type { Logger } from '@outbound/config';
import { pingDatabase, type Db } from '@outbound/db';
import { withTimeout } from '@outbound/domain';
import { pingRedis } from '@outbound/queue';
import type { Redis } from 'ioredis';

export type DependencyName = 'postgres' | 'redis';
export type DependencyStatus = 'ok' | 'down';

export interface ReadinessOptions {
  db: Db;
  redis: Redis;
  /** How long each dependency has to answer. */
  timeoutMs: number;
  logger: Logger;
}

/** Asks Postgres and Redis at once; each must answer within `timeoutMs`. */
export async function checkReadiness(
  options: ReadinessOptions,
): Promise<Record<DependencyName, DependencyStatus>> {
  const [postgres, redis] = await Promise.all([
    probe('postgres', () => withTimeout(pingDatabase(options.db), options.timeoutMs), options),
    probe('redis', () => pingRedis(options.redis, options.timeoutMs), options),
  ]);
  return { postgres, redis };
}

async function probe(
  name: DependencyName,
  ping: () => Promise<void>,
  options: ReadinessOptions,
): Promise<DependencyStatus> {
  try {
    await ping();
    return 'ok';
  } catch (error) {
    options.logger.warn({ err: error, dependency: name }, 'readiness check failed');
    return 'down';
  }
}
