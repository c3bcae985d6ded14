import { type ApiKeySummary, authenticateApiKey, type Organization } from '@outbound/db';
import { createTestDatabase, type TestDatabase } from '@outbound/test/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliRunner, createCliRunner, parseJsonOutput } from './testing/run-cli.ts';

describe('outbound org and api-key', () => {
  let database: TestDatabase;
  let cli: CliRunner;

  beforeAll(async () => {
    database = await createTestDatabase();
    cli = createCliRunner(database.db);
  });
  afterAll(async () => {
    await database.drop();
  });

  const createOrg = async (name: string) =>
    parseJsonOutput<Organization>(await cli.run('org', 'create', '--name', name, '--json'));

  it('creates and lists organizations', async () => {
    const acme = await createOrg('Acme');
    const human = await cli.run('org', 'create', '--name', 'Globex');
    expect(human.stdout).toMatch(/^Created organization [0-9a-f-]{36} \(Globex\)\n$/);
    const listed = parseJsonOutput<Organization[]>(await cli.run('org', 'list', '--json'));
    expect(listed.map((org) => org.name)).toEqual(expect.arrayContaining(['Acme', 'Globex']));
    expect(listed.find((org) => org.id === acme.id)?.name).toBe('Acme');
    const table = await cli.run('org', 'list');
    expect(table.stdout).toMatch(/^ID +NAME +CREATED\n/);
    expect(table.stdout).toContain(acme.id);
  });

  it('rejects an empty name with exit code 2', async () => {
    expect(await cli.run('org', 'create', '--name', '  ')).toEqual({
      code: 2,
      stdout: '',
      stderr: 'error: --name: must not be empty (got "  ")\n',
    });
  });

  it('prints a new key once, which authenticates as the actor; list never shows it', async () => {
    const org = await createOrg('Keyed');
    const created = await cli.run(
      'api-key',
      'create',
      '--org',
      org.id,
      '--actor',
      'user_1',
      '--name',
      'ci',
    );
    expect(created.code).toBe(0);
    const key = /^ {2}(ob_\S+)$/m.exec(created.stdout)?.[1];
    expect(key).toBeDefined();
    expect(created.stdout.split(key!)).toHaveLength(2);
    expect(created.stdout).toContain('only time the secret is shown');
    expect(await authenticateApiKey(database.db, key!)).toMatchObject({
      organizationId: org.id,
      actorUserId: 'user_1',
    });

    const listed = await cli.run('api-key', 'list', '--org', org.id, '--json');
    expect(listed.stdout).not.toContain(key!);
    const keys = parseJsonOutput<ApiKeySummary[]>(listed);
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatchObject({ actor_user_id: 'user_1', name: 'ci', revoked_at: null });
    expect(keys[0]).not.toHaveProperty('key_hash');
  });

  it('revokes by id, and the key stops authenticating', async () => {
    const org = await createOrg('Revoked');
    const created = parseJsonOutput<ApiKeySummary & { api_key: string }>(
      await cli.run('api-key', 'create', '--org', org.id, '--actor', 'user_2', '--json'),
    );
    expect(await authenticateApiKey(database.db, created.api_key)).toBeDefined();
    const revoked = await cli.run('api-key', 'revoke', created.id, '--json');
    expect(parseJsonOutput(revoked)).toEqual({ revoked: created.id });
    expect(await authenticateApiKey(database.db, created.api_key)).toBeUndefined();
    const table = await cli.run('api-key', 'list', '--org', org.id);
    expect(table.stdout).toMatch(/revoked\n$/);
  });

  it('explains bad references with exit codes 2 (malformed) and 1 (unknown)', async () => {
    expect(await cli.run('api-key', 'revoke', 'nope')).toMatchObject({
      code: 2,
      stderr: 'error: <id-or-prefix>: expected an API key id (UUID) or its 12-character prefix\n',
    });
    expect(await cli.run('api-key', 'revoke', 'abcdefghijkl')).toMatchObject({ code: 1 });
    expect(
      await cli.run(
        'api-key',
        'create',
        '--org',
        '0190c5f5-0000-7000-8000-000000000000',
        '--actor',
        'u',
      ),
    ).toMatchObject({
      code: 1,
      stderr: 'error: organization 0190c5f5-0000-7000-8000-000000000000 not found\n',
    });
    const missing = await cli.run('api-key', 'create', '--actor', 'u');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe("error: required option '--org <id>' not specified\n");
  });

  it('answers usage errors with exit code 2 and help with 0', async () => {
    const unknown = await cli.run('frobnicate');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^error: unknown command 'frobnicate'/);
    expect((await cli.run('org', 'list', '--verbose')).code).toBe(2);
    const help = await cli.run('--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/seed-demo/);
    expect((await cli.run('sender', 'create', '--help')).stdout).toMatch(
      /--rate-limit <max\/window>/,
    );
  });
});
