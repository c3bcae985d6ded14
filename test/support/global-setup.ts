import { randomBytes } from 'node:crypto';
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { migrateToLatest } from '@outbound/db';
import { startTestServers } from './servers.ts';
import { adminUrl, databaseUrl } from './urls.ts';
import type {} from './provided-context.ts';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const servers = await startTestServers();
  const runId = randomBytes(4).toString('hex');
  const prefix = `outbound_t${runId}`;
  const template = `${prefix}_template`;

  const admin = new pg.Client({ connectionString: adminUrl(servers.databaseUrl) });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${template}`);
  const templateDb = new Kysely<unknown>({
    dialect: new PostgresDialect({
      pool: new pg.Pool({ connectionString: databaseUrl(servers.databaseUrl, template), max: 1 }),
    }),
  });
  try {
    await migrateToLatest(templateDb);
  } finally {
    await templateDb.destroy();
  }

  project.provide('testDatabaseServerUrl', servers.databaseUrl);
  project.provide('testRedisUrl', servers.redisUrl);
  project.provide('testTemplateDatabase', template);
  project.provide('testDatabasePrefix', prefix);

  return async () => {
    const leftovers = await admin.query<{ datname: string }>(
      `SELECT datname FROM pg_database WHERE datname LIKE $1`,
      [`${prefix}%`],
    );
    for (const { datname } of leftovers.rows) {
      await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(datname)} WITH (FORCE)`);
    }
    await admin.end();
    await servers.stop();
  };
}
