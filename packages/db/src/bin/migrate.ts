import { createLogger, loadConfigOrExit } from '@outbound/config';
import { createDb } from '../connection.ts';
import { ensureDatabaseExists, migrateToLatest } from '../migrate.ts';

const config = loadConfigOrExit();
const logger = createLogger(config, { name: 'migrate' });

try {
  if (await ensureDatabaseExists(config.DATABASE_URL)) logger.info('created database');
  const db = createDb({ connectionString: config.DATABASE_URL, poolMax: 1 });
  try {
    const results = await migrateToLatest(db);
    const applied = results.map((result) => result.migrationName);
    logger.info({ applied }, applied.length === 0 ? 'schema is up to date' : 'migrations applied');
  } finally {
    await db.destroy();
  }
} catch (error) {
  logger.fatal({ err: error }, 'migration failed');
  process.exitCode = 1;
}
