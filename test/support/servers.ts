import { PostgreSqlContainer } from '@testcontainers/postgresql';
import { RedisContainer } from '@testcontainers/redis';

export interface TestServers {
  /** A Postgres URL whose role may CREATE DATABASE; the harness clones per-file databases there. */
  databaseUrl: string;
  redisUrl: string;
  stop(): Promise<void>;
}

/**
 * The servers tests run against: TEST_DATABASE_URL / TEST_REDIS_URL when set (CI and machines
 * with local services), otherwise throwaway containers started with testcontainers.
 */
export async function startTestServers(env: NodeJS.ProcessEnv = process.env): Promise<TestServers> {
  const stops: (() => Promise<unknown>)[] = [];
  try {
    const databaseUrl = env.TEST_DATABASE_URL || (await startPostgres(stops));
    const redisUrl = env.TEST_REDIS_URL || (await startRedis(stops));
    return {
      databaseUrl,
      redisUrl,
      stop: async () => {
        await Promise.all(stops.map((stop) => stop()));
      },
    };
  } catch (error) {
    await Promise.allSettled(stops.map((stop) => stop()));
    throw error;
  }
}

async function startPostgres(stops: (() => Promise<unknown>)[]): Promise<string> {
  const container = await startContainer('Postgres', 'TEST_DATABASE_URL', () =>
    new PostgreSqlContainer('postgres:17-alpine').start(),
  );
  stops.push(() => container.stop());
  return container.getConnectionUri();
}

async function startRedis(stops: (() => Promise<unknown>)[]): Promise<string> {
  const container = await startContainer('Redis', 'TEST_REDIS_URL', () =>
    new RedisContainer('redis:7-alpine')
      .withCommand(['redis-server', '--maxmemory-policy', 'noeviction'])
      .start(),
  );
  stops.push(() => container.stop());
  return container.getConnectionUrl();
}

async function startContainer<T>(
  what: string,
  variable: string,
  start: () => Promise<T>,
): Promise<T> {
  try {
    return await start();
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(
      `Tests need ${what}: set ${variable} to a running server, or make Docker available so ` +
        `testcontainers can start one (${reason})`,
      { cause: error },
    );
  }
}
