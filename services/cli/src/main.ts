#!/usr/bin/env node
import { createLogger, loadConfigOrExit } from '@outbound/config';
import { createDb, ensureDatabaseExists, migrateToLatest } from '@outbound/db';
import { CredentialsCipher } from '@outbound/domain';
import { runProgram } from './program.ts';

const config = loadConfigOrExit();
// stdout is the commands' output (`seed-demo --json` prints one object there), so logs go to stderr.
const logger = createLogger(config, { name: 'outbound-cli', destination: process.stderr });
const db = createDb({
  connectionString: config.DATABASE_URL,
  poolMax: 2,
  applicationName: 'outbound-cli',
});

process.exitCode = await runProgram(
  {
    db,
    cipher: new CredentialsCipher(config.CREDENTIALS_ENCRYPTION_KEY),
    stdout: process.stdout,
    stderr: process.stderr,
    // Only when a command runs (not for --help), so a fresh machine works on the first command.
    beforeCommand: async () => {
      if (!config.MIGRATE_ON_START) return;
      if (await ensureDatabaseExists(config.DATABASE_URL)) logger.info('created database');
      const applied = (await migrateToLatest(db)).map((result) => result.migrationName);
      if (applied.length > 0) logger.info({ applied }, 'migrations applied');
    },
  },
  process.argv.slice(2),
);
await db.destroy();
