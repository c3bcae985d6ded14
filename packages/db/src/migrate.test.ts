import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '@outbound/test/harness';
import { appliedMigrations, ensureDatabaseExists, migrateToLatest } from './migrate.ts';
import { migrations } from './migrations/index.ts';

describe('migrations', () => {
  let database: TestDatabase;
  const emptyDatabaseUrl = () => {
    const url = new URL(database.url);
    url.pathname = `${url.pathname}_empty`;
    return url.toString();
  };

  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    const url = new URL(emptyDatabaseUrl());
    const name = url.pathname.slice(1);
    url.pathname = '/postgres';
    const admin = new pg.Client({ connectionString: url.toString() });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
    await admin.end();
    await database.drop();
  });

  it('creates a missing database, migrates it from empty, and re-runs as a no-op', async () => {
    expect(await ensureDatabaseExists(emptyDatabaseUrl())).toBe(true);
    expect(await ensureDatabaseExists(emptyDatabaseUrl())).toBe(false);

    const db = new Kysely<unknown>({
      dialect: new PostgresDialect({
        pool: new pg.Pool({ connectionString: emptyDatabaseUrl(), max: 1 }),
      }),
    });
    try {
      const first = await migrateToLatest(db);
      expect(first.map((r) => r.migrationName)).toEqual(Object.keys(migrations));
      expect(first.every((r) => r.status === 'Success')).toBe(true);

      const second = await migrateToLatest(db);
      expect(second).toEqual([]);
      expect(await appliedMigrations(db)).toEqual(Object.keys(migrations));

      const tables = await sql<{ table_name: string }>`
        SELECT table_name FROM information_schema.tables
        WHERE table_schema = 'public' AND table_name NOT LIKE 'kysely_%'
      `.execute(db);
      expect(tables.rows.map((r) => r.table_name).sort()).toEqual(
        [
          'agents',
          'api_keys',
          'conversation_drafts',
          'conversation_messages',
          'conversations',
          'deliveries',
          'email_draft_attachments',
          'email_drafts',
          'events',
          'group_sessions',
          'groups',
          'idempotency_records',
          'media_objects',
          'message_drafts',
          'notifications',
          'organizations',
          'sandbox_messages',
          'schedules',
          'senders',
          'sends',
          'webhook_deliveries',
          'webhook_endpoints',
          'whatsapp_drafts',
        ].sort(),
      );
    } finally {
      await db.destroy();
    }
  });

  it('gives every tenant table an organization_id', async () => {
    const rows = await sql<{ table_name: string }>`
      SELECT t.table_name FROM information_schema.tables t
      WHERE t.table_schema = 'public' AND t.table_name NOT IN ('organizations')
        AND t.table_name NOT LIKE 'kysely_%'
        AND NOT EXISTS (
          SELECT 1 FROM information_schema.columns c
          WHERE c.table_name = t.table_name AND c.column_name = 'organization_id'
        )
    `.execute(database.db);
    expect(rows.rows).toEqual([]);
  });
});
