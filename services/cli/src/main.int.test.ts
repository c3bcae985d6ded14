import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { authenticateApiKey } from '@outbound/db';
import { createTestDatabase, type TestDatabase } from '@outbound/test/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDemoResultSchema } from './seed-demo.ts';

const run = promisify(execFile);

describe('the outbound executable', () => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database.drop();
  });

  it('prints exactly one JSON object for seed-demo --json, and nothing else on stdout', async () => {
    const { stdout } = await run(
      process.execPath,
      [fileURLToPath(new URL('./main.ts', import.meta.url)), 'seed-demo', '--json'],
      {
        env: {
          NODE_ENV: 'test',
          DATABASE_URL: database.url,
          LOG_LEVEL: 'silent',
          MIGRATE_ON_START: 'false',
        },
        timeout: 15_000,
      },
    );
    const seeded = seedDemoResultSchema.parse(JSON.parse(stdout));
    expect(await authenticateApiKey(database.db, seeded.api_key)).toMatchObject({
      organizationId: seeded.organization_id,
      actorUserId: seeded.actor_user_id,
    });
  });
});
