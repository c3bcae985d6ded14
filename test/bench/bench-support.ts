// What the benchmarks share: a throwaway database, service processes, Redis cleanup, figures.
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import pg from 'pg';
import { createDb, ensureDatabaseExists, migrateToLatest, type Db } from '@outbound/db';
import { startServiceProcess, type ServiceProcess } from '../support/service-process.ts';

export const databaseServer =
  process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
export const root = (path: string) => fileURLToPath(new URL(`../../${path}`, import.meta.url));

export interface BenchDatabase {
  db: Db;
  url: string;
  drop(): Promise<void>;
}

/** A new migrated database on the server, dropped by `drop()`. */
export async function createBenchDatabase(): Promise<BenchDatabase> {
  const server = new URL(databaseServer);
  server.pathname = `/outbound_bench_${randomBytes(4).toString('hex')}`;
  const url = server.toString();
  await ensureDatabaseExists(url);
  const db = createDb({ connectionString: url, poolMax: 4 });
  await migrateToLatest(db);
  return {
    db,
    url,
    drop: async () => {
      await db.destroy();
      const admin = new pg.Client({ connectionString: databaseServer });
      await admin.connect();
      const name = new URL(url).pathname.slice(1);
      await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
      await admin.end();
    },
  };
}

/** A fresh queue prefix, so runs never see each other's keys. */
export function newPrefix(): string {
  return `bench-${randomBytes(4).toString('hex')}`;
}

/** The environment of the API and dispatchers under measurement (production mode, quiet logs). */
export function serviceEnv(
  databaseUrl: string,
  prefix: string,
  overrides: Record<string, string> = {},
): Record<string, string> {
  return {
    NODE_ENV: 'production',
    CREDENTIALS_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
    LOG_LEVEL: 'info',
    LOG_FORMAT: 'json',
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    QUEUE_PREFIX: prefix,
    MIGRATE_ON_START: 'false',
    HOST: '127.0.0.1',
    PORT: '0',
    DISPATCHER_METRICS_PORT: '0',
    ...overrides,
  };
}

export interface RunningServices {
  url: string;
  processes: ServiceProcess[];
  stop(): Promise<void>;
}

/** The API and `dispatchers` dispatcher processes, once each is ready. */
export async function startServices(
  env: Record<string, string>,
  dispatchers: number,
): Promise<RunningServices> {
  const processes: ServiceProcess[] = [];
  const stop = async () => {
    await Promise.all(
      processes.map((service) => service.stop('SIGTERM').catch(() => service.stop('SIGKILL'))),
    );
  };
  try {
    const api = startServiceProcess(root('services/api/src/main.ts'), env);
    processes.push(api);
    const url = String((await api.waitForLog((line) => typeof line.url === 'string')).url);
    for (let i = 0; i < dispatchers; i += 1) {
      const dispatcher = startServiceProcess(root('services/dispatcher/src/main.ts'), env);
      processes.push(dispatcher);
      await dispatcher.waitForLog((line) => line.msg === 'dispatcher ready');
    }
    return { url, processes, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

export async function clearPrefix(prefix: string): Promise<void> {
  const redis = new Redis(redisUrl);
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1_000);
    if (keys.length > 0) await redis.unlink(...keys);
    cursor = next;
  } while (cursor !== '0');
  redis.disconnect();
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export interface Summary {
  median: number;
  min: number;
  max: number;
}

export function summary(values: readonly number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  return { median: percentile(sorted, 50), min: sorted[0]!, max: sorted[sorted.length - 1]! };
}

/** The `p`th percentile of ascending `sorted` values, by linear interpolation. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) throw new Error('no values');
  const rank = (p / 100) * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (rank - low);
}

export function formatSummary(s: Summary, digits = 0): string {
  return `${s.median.toFixed(digits)} (${s.min.toFixed(digits)}–${s.max.toFixed(digits)})`;
}
