import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import pg from 'pg';
import { inject } from 'vitest';
import { createDb, type Db } from '@outbound/db';
import { adminUrl, databaseUrl } from './urls.ts';
import type {} from './provided-context.ts';

export interface TestDatabase {
  /** Connection string of this file's own migrated database. */
  url: string;
  db: Db;
  /** Closes the pool and drops the database. */
  drop(): Promise<void>;
}

const DATABASE_IN_USE = '55006';

/** A fresh, migrated database cloned from the run's template (fast: no migrations run). */
export async function createTestDatabase(): Promise<TestDatabase> {
  const server = inject('testDatabaseServerUrl');
  const name = `${inject('testDatabasePrefix')}_${randomBytes(5).toString('hex')}`;
  await withAdmin(server, async (admin) => {
    // Two clones of one template at the same instant can collide on its lock; retry briefly.
    for (let attempt = 1; ; attempt += 1) {
      try {
        await admin.query(
          `CREATE DATABASE ${pg.escapeIdentifier(name)} TEMPLATE ${pg.escapeIdentifier(inject('testTemplateDatabase'))}`,
        );
        return;
      } catch (error) {
        if ((error as { code?: string }).code !== DATABASE_IN_USE || attempt >= 20) throw error;
        await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
      }
    }
  });
  const url = databaseUrl(server, name);
  const db = createDb({ connectionString: url, poolMax: 5 });
  return {
    url,
    db,
    drop: async () => {
      await db.destroy();
      await withAdmin(server, (admin) =>
        admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`),
      );
    },
  };
}

async function withAdmin<T>(server: string, work: (admin: pg.Client) => Promise<T>): Promise<T> {
  const admin = new pg.Client({ connectionString: adminUrl(server) });
  await admin.connect();
  try {
    return await work(admin);
  } finally {
    await admin.end();
  }
}

export interface TestRedis {
  url: string;
  /** A BullMQ / key prefix no other test file uses. */
  prefix: string;
  /** Deletes every key under the prefix. */
  clear(): Promise<void>;
}

export function createTestRedis(): TestRedis {
  const url = inject('testRedisUrl');
  const prefix = `outbound-test-${randomBytes(5).toString('hex')}`;
  return {
    url,
    prefix,
    clear: async () => {
      const redis = new Redis(url, { maxRetriesPerRequest: 1 });
      try {
        let cursor = '0';
        do {
          const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
          if (keys.length > 0) await redis.unlink(...keys);
          cursor = next;
        } while (cursor !== '0');
      } finally {
        redis.disconnect();
      }
    },
  };
}

/**
 * Environment for a service under test: its own database and Redis prefix, quiet logs.
 * Pass it to `loadConfig` (or a child process) to build the service as production would.
 */
export function testEnv(
  database: TestDatabase,
  redis: TestRedis,
  overrides: Record<string, string> = {},
): Record<string, string> {
  return {
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    LOG_FORMAT: 'json',
    DATABASE_URL: database.url,
    REDIS_URL: redis.url,
    QUEUE_PREFIX: redis.prefix,
    MIGRATE_ON_START: 'false',
    PORT: '0',
    // Several dispatchers may run side by side: each listens on a free port.
    DISPATCHER_METRICS_PORT: '0',
    // Fuzz, chaos and load tests send thousands of requests with one key: the limit is on (so
    // every request takes the limiter's path) but out of reach unless a test lowers it.
    API_RATE_LIMIT_REQUESTS: '1000000',
    ...overrides,
  };
}
