import { createLogger, loadConfigOrExit } from '@outbound/config';
import { createDb, ensureDatabaseExists, migrateToLatest } from '@outbound/db';
import { closeQueues, createProducerConnection, createQueues } from '@outbound/queue';
import { createApp } from './app.ts';
import { createApiMetrics } from './http/api-metrics.ts';
import { startServer } from './server.ts';
import { exitOnSignals, runShutdown } from './shutdown.ts';

// The composition root: everything the API uses is built here and handed to createApp.
const config = loadConfigOrExit();
const logger = createLogger(config, { name: 'api' });

try {
  if (config.MIGRATE_ON_START) {
    await ensureDatabaseExists(config.DATABASE_URL);
  }
  const db = createDb({
    connectionString: config.DATABASE_URL,
    poolMax: config.DATABASE_POOL_MAX,
    applicationName: 'outbound-api',
  });
  if (config.MIGRATE_ON_START) {
    const results = await migrateToLatest(db);
    logger.info({ applied: results.map((result) => result.migrationName) }, 'migrations applied');
  }

  const redis = createProducerConnection({ url: config.REDIS_URL, connectionName: 'outbound-api' });
  redis.on('error', (error: Error) => logger.warn({ err: error }, 'redis connection error'));
  const queues = createQueues({ connection: redis, prefix: config.QUEUE_PREFIX });
  for (const queue of Object.values(queues)) {
    queue.on('error', (error: Error) =>
      logger.warn({ err: error, queue: queue.name }, 'queue error'),
    );
  }

  const adminAuth =
    config.ADMIN_USERNAME !== undefined && config.ADMIN_PASSWORD !== undefined
      ? { username: config.ADMIN_USERNAME, password: config.ADMIN_PASSWORD }
      : undefined;
  const metrics = createApiMetrics();
  const app = createApp({ config, logger, db, queues, redis, adminAuth, metrics });
  const server = await startServer(app, {
    host: config.HOST,
    port: config.PORT,
    shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
  });
  logger.info({ url: server.url }, `api listening on ${server.url}`);

  exitOnSignals(
    () =>
      runShutdown(
        [
          { name: 'http server', run: () => server.close() },
          { name: 'queues', run: () => closeQueues(queues) },
          // QUIT needs a live connection; a Redis that is down is simply let go.
          {
            name: 'redis',
            run: async () => (redis.status === 'ready' ? redis.quit() : redis.disconnect()),
          },
          { name: 'database', run: () => db.destroy() },
        ],
        logger,
      ),
    logger,
  );
} catch (error) {
  logger.fatal({ err: error }, 'api failed to start');
  process.exit(1);
}
