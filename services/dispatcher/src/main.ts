import { createLogger, loadConfigOrExit } from '@outbound/config';
import { createDb, ensureDatabaseExists, migrateToLatest } from '@outbound/db';
import { CredentialsCipher } from '@outbound/domain';
import { createWorkerConnection } from '@outbound/queue';
import { createDispatcher } from './dispatcher.ts';
import { type HttpListener, startHttpListener } from './http-listener.ts';
import { createDispatcherMetrics } from './metrics.ts';

const config = loadConfigOrExit();
const logger = createLogger(config, { name: 'dispatcher' });

const db = createDb({
  connectionString: config.DATABASE_URL,
  poolMax: config.DATABASE_POOL_MAX,
  applicationName: 'outbound-dispatcher',
});
const connection = createWorkerConnection({
  url: config.REDIS_URL,
  connectionName: 'outbound-dispatcher',
});
const metrics = createDispatcherMetrics();
const dispatcher = createDispatcher({
  config,
  logger,
  db,
  connection,
  cipher: new CredentialsCipher(config.CREDENTIALS_ENCRYPTION_KEY),
  metrics,
});

let stopping = false;
let listener: HttpListener | undefined;

function shutdown(signal: NodeJS.Signals): void {
  if (stopping) {
    logger.warn({ signal }, 'second signal: exiting without waiting for jobs in progress');
    process.exit(1);
  }
  stopping = true;
  logger.info({ signal }, 'shutting down: finishing jobs in progress');
  const timer = setTimeout(() => {
    logger.error({ timeout_ms: config.SHUTDOWN_TIMEOUT_MS }, 'shutdown timed out; exiting');
    process.exit(1);
  }, config.SHUTDOWN_TIMEOUT_MS);
  timer.unref();
  dispatcher
    .close()
    .finally(() => listener?.close())
    .then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
}

process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);

try {
  if (config.MIGRATE_ON_START) {
    await ensureDatabaseExists(config.DATABASE_URL);
    const applied = await migrateToLatest(db);
    logger.info({ applied: applied.map((result) => result.migrationName) }, 'migrations applied');
  }
  // Listening before the workers start, so probes see "starting" rather than nothing.
  listener = await startHttpListener({
    host: config.HOST,
    port: config.DISPATCHER_METRICS_PORT,
    dispatcher,
    metrics,
    db,
    redis: connection,
    logger,
  });
  logger.info({ url: listener.url }, `dispatcher http listening on ${listener.url}`);
  await dispatcher.start();
} catch (error) {
  // A signal during startup closes everything under start's feet; that is a shutdown, not a crash.
  if (!stopping) {
    const reason = error instanceof Error ? error.message : String(error);
    logger.fatal({ err: error }, `dispatcher refused to start: ${reason}`);
    await dispatcher.close().catch(() => {});
    process.exit(1);
  }
}
