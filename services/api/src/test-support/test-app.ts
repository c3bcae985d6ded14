import { Writable } from 'node:stream';
import { createLogger, loadConfig, type Config } from '@outbound/config';
import type { Db } from '@outbound/db';
import { closeQueues, createProducerConnection, createQueues, type Queues } from '@outbound/queue';
import type { TestDatabase, TestRedis } from '@outbound/test/harness';
import { testEnv } from '@outbound/test/harness';
import type { Express } from 'express';
import type { Redis } from 'ioredis';
import { createApp, type AppDeps, type AppOptions } from '../app.ts';
import { startServer, type RunningServer } from '../server.ts';

export interface TestAppOptions extends AppOptions {
  /** Extra environment, on top of the harness's test environment. */
  env?: Record<string, string>;
  /** Another database than the file's own (e.g. one that cannot be reached). */
  db?: Db;
  /** Another Redis than the file's own (e.g. a closed port). */
  redisUrl?: string;
  adminAuth?: AppDeps['adminAuth'];
  shutdownTimeoutMs?: number;
  keepAliveTimeoutMs?: number;
}

export interface TestApp extends RunningServer {
  app: Express;
  config: Config;
  queues: Queues;
  redis: Redis;
  /** Every log line written so far, parsed. */
  logs(): Record<string, unknown>[];
  /** Closes the server, the queues and the Redis connection (not the file's database). */
  stop(): Promise<void>;
}

/** The real app on a free port, wired as `main.ts` wires it, with logs captured in memory. */
export async function startTestApp(
  database: TestDatabase,
  testRedis: TestRedis,
  options: TestAppOptions = {},
): Promise<TestApp> {
  const config = loadConfig(testEnv(database, testRedis, { LOG_LEVEL: 'info', ...options.env }));
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  const logger = createLogger(config, { name: 'api', destination });
  const redis = createProducerConnection({ url: options.redisUrl ?? config.REDIS_URL });
  redis.on('error', () => {});
  const queues = createQueues({ connection: redis, prefix: config.QUEUE_PREFIX });
  for (const queue of Object.values(queues)) queue.on('error', () => {});
  // The producer refuses commands until connected; tests start from a connected state.
  if (options.redisUrl === undefined && redis.status !== 'ready') {
    await new Promise((resolve) => redis.once('ready', resolve));
  }

  const app = createApp(
    { config, logger, db: options.db ?? database.db, queues, redis, adminAuth: options.adminAuth },
    options,
  );
  const server = await startServer(app, {
    host: '127.0.0.1',
    port: 0,
    shutdownTimeoutMs: options.shutdownTimeoutMs ?? 5_000,
    keepAliveTimeoutMs: options.keepAliveTimeoutMs,
  });
  return {
    ...server,
    app,
    config,
    queues,
    redis,
    logs: () => lines.map((line) => JSON.parse(line) as Record<string, unknown>),
    stop: async () => {
      await server.close();
      if (redis.status === 'ready') await closeQueues(queues);
      redis.disconnect();
    },
  };
}
