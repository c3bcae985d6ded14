import { createLogger, loadConfigOrExit } from '@outbound/config';
import { createDb, ensureDatabaseExists, migrateToLatest } from '@outbound/db';
import { CredentialsCipher } from '@outbound/domain';
import { createWorkerConnection } from '@outbound/queue';
import { createDispatcher } from './dispatcher.ts';

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
const dispatcher = createDispatcher({
  config,
  logger,
  db,
  connection,
  cipher: new CredentialsCipher(config.CREDENTIALS_ENCRYPTION_KEY),
});

let stopping = false;

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
  dispatcher.close().then(
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
