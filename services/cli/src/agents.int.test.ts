import type { Agent, Organization } from '@outbound/db';
import { createTestDatabase, type TestDatabase } from '@outbound/test/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliRunner, createCliRunner, parseJsonOutput } from './testing/run-cli.ts';

describe('outbound agent', () => {
  let database: TestDatabase;
  let cli: CliRunner;
  let org: string;
  let otherOrg: string;

  const createOrg = async (name: string) =>
    parseJsonOutput<Organization>(await cli.run('org', 'create', '--name', name, '--json')).id;
  const agentRows = (organizationId: string) =>
    database.db
      .selectFrom('agents')
      .select(['id', 'email', 'name'])
      .where('organization_id', '=', organizationId)
      .orderBy('id')
      .execute();

  beforeAll(async () => {
    database = await createTestDatabase();
    cli = createCliRunner(database.db);
    org = await createOrg('Agents');
    otherOrg = await createOrg('Other');
  });
  afterAll(async () => {
    await database.drop();
  });

  it('creates an agent with an integer id, its email in lower case', async () => {
    const agent = parseJsonOutput<Agent>(
      await cli.run(
        'agent',
        'create',
        '--org',
        org,
        '--email',
        ' Ada@Example.COM ',
        '--name',
        'Ada',
        '--json',
      ),
    );
    expect(agent).toMatchObject({ organization_id: org, email: 'ada@example.com', name: 'Ada' });
    expect(Number.isSafeInteger(agent.id)).toBe(true);
    expect(await agentRows(org)).toEqual([{ id: agent.id, email: 'ada@example.com', name: 'Ada' }]);

    const plain = await cli.run('agent', 'create', '--org', org, '--email', 'bob@example.com');
    expect(plain).toMatchObject({ code: 0, stderr: '' });
    expect(plain.stdout).toMatch(
      new RegExp(`^Created agent \\d+ \\(bob@example\\.com\\) in organization ${org}\\.\\n$`),
    );
  });

  it('refuses a second agent with the same email in an organization, in any case', async () => {
    const duplicate = await cli.run('agent', 'create', '--org', org, '--email', 'ADA@example.com');
    expect(duplicate).toMatchObject({
      code: 1,
      stdout: '',
      stderr: `error: organization ${org} already has an agent with email ada@example.com\n`,
    });
    // Another organization may have an agent with the same address.
    const elsewhere = await cli.run(
      'agent',
      'create',
      '--org',
      otherOrg,
      '--email',
      'ada@example.com',
    );
    expect(elsewhere.code).toBe(0);
  });

  it('refuses a bad email or organization id (usage) and an unknown organization', async () => {
    const badEmail = await cli.run('agent', 'create', '--org', org, '--email', 'not-an-email');
    expect(badEmail).toMatchObject({
      code: 2,
      stderr:
        'error: --email: must be an email address, such as ada@example.com (got "not-an-email")\n',
    });
    const badOrg = await cli.run('agent', 'create', '--org', 'acme', '--email', 'x@example.com');
    expect(badOrg).toMatchObject({
      code: 2,
      stderr: 'error: --org: must be a UUID (got "acme")\n',
    });
    const unknown = '0190c5f5-0000-7000-8000-000000000000';
    const missing = await cli.run('agent', 'create', '--org', unknown, '--email', 'x@example.com');
    expect(missing).toMatchObject({
      code: 1,
      stderr: `error: organization ${unknown} not found\n`,
    });
    expect((await cli.run('agent', 'list', '--org', unknown)).code).toBe(1);
    const noEmail = await cli.run('agent', 'create', '--org', org);
    expect(noEmail.code).toBe(2);
    expect(noEmail.stderr).toContain("required option '--email <email>' not specified");
  });

  it("lists an organization's agents, as JSON or as a table", async () => {
    const listed = parseJsonOutput<Agent[]>(await cli.run('agent', 'list', '--org', org, '--json'));
    expect(listed.map((agent) => agent.email)).toEqual(['ada@example.com', 'bob@example.com']);
    expect(listed.every((agent) => agent.organization_id === org)).toBe(true);

    const table = await cli.run('agent', 'list', '--org', org);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+EMAIL\s+NAME\s+CREATED$/);
    expect(lines[1]).toMatch(
      new RegExp(`^${listed[0]!.id}\\s+ada@example\\.com\\s+Ada\\s+\\d{4}-`),
    );
    expect(lines[2]).toMatch(/bob@example\.com\s+-\s+\d{4}-/);

    const empty = await createOrg('Empty');
    expect(parseJsonOutput(await cli.run('agent', 'list', '--org', empty, '--json'))).toEqual([]);
    expect((await cli.run('agent', 'list', '--org', empty)).stdout).toBe('No agents.\n');
    expect((await cli.run('agent', 'list')).code).toBe(2);
  });
});
