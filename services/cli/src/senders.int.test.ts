import type { SenderRecord } from '@outbound/db';
import { createTestDatabase, type TestDatabase } from '@outbound/test/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliRunner, createCliRunner, parseJsonOutput } from './testing/run-cli.ts';

describe('outbound sender', () => {
  let database: TestDatabase;
  let cli: CliRunner;
  let org: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    cli = createCliRunner(database.db);
    org = parseJsonOutput<{ id: string }>(
      await cli.run('org', 'create', '--name', 'Acme', '--json'),
    ).id;
  });
  afterAll(async () => {
    await database.drop();
  });

  const senderCount = async () =>
    (
      await database.db
        .selectFrom('senders')
        .select('id')
        .where('organization_id', '=', org)
        .execute()
    ).length;

  const create = (...args: string[]) =>
    cli.run('sender', 'create', '--org', org, '--name', 'Main', ...args);

  it('creates a sandbox sender with the sandbox rate limit by default', async () => {
    const sender = parseJsonOutput<SenderRecord>(
      await create('--channel', 'whatsapp', '--provider', 'sandbox', '--json'),
    );
    expect(sender).toMatchObject({
      organization_id: org,
      channel: 'whatsapp',
      provider: 'sandbox',
      role: 'sending',
      status: 'WORKING',
      rate_limit_max: 600,
      rate_limit_window_ms: 60_000,
    });
  });

  it('takes role, status, address, settings and either rate-limit form', async () => {
    const text = parseJsonOutput<SenderRecord>(
      await create(
        '--channel',
        'sms',
        '--provider',
        'twilio',
        '--address',
        '+15551234567',
        '--role',
        'receiving',
        '--status',
        'STOPPED',
        '--rate-limit',
        '20/1m',
        '--settings',
        '{"account_sid":"AC0123456789abcdef0123456789abcdef","from":"+15551234567"}',
        '--json',
      ),
    );
    expect(text).toMatchObject({
      address: '+15551234567',
      role: 'receiving',
      status: 'STOPPED',
      rate_limit_max: 20,
      rate_limit_window_ms: 60_000,
      settings: { account_sid: 'AC0123456789abcdef0123456789abcdef', from: '+15551234567' },
    });
    const numbers = parseJsonOutput<SenderRecord>(
      await create(
        '--channel',
        'email',
        '--provider',
        'smtp',
        '--address',
        'ops@example.com',
        '--rate-max',
        '5',
        '--rate-window-ms',
        '1000',
        '--settings',
        '{"host":"smtp.example.com"}',
        '--json',
      ),
    );
    expect(numbers).toMatchObject({
      rate_limit_max: 5,
      rate_limit_window_ms: 1_000,
      settings: { host: 'smtp.example.com' },
    });
  });

  it('refuses settings the provider cannot work with, naming the field, and creates nothing', async () => {
    const before = await senderCount();
    const run = await create(
      '--channel',
      'whatsapp',
      '--provider',
      'waha',
      '--rate-limit',
      '20/1m',
      '--settings',
      '{"base_url":"ftp://waha.example"}',
    );
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^error: --settings: waha settings\.base_url: /);
    expect(await senderCount()).toBe(before);
  });

  it('rejects a provider that does not serve the channel, with exit code 2 and one line', async () => {
    const before = await senderCount();
    const run = await create('--channel', 'whatsapp', '--provider', 'gmail');
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe(
      'error: provider gmail does not serve the whatsapp channel; whatsapp senders use sandbox or waha\n',
    );
    expect(await senderCount()).toBe(before);
  });

  it.each([
    [['--rate-limit', 'fast'], /^error: --rate-limit: expected <max>\/<window> such as 600\/60s/],
    [
      ['--rate-limit', '0/60s'],
      /^error: --rate-limit: the maximum must be a positive whole number/,
    ],
    [['--rate-max', '10'], /^error: --rate-window-ms: --rate-max and --rate-window-ms go together/],
    [
      ['--rate-max', 'ten', '--rate-window-ms', '1000'],
      /^error: --rate-max: must be a whole number/,
    ],
    [['--rate-limit', '1/1s', '--rate-max', '1', '--rate-window-ms', '1'], /not both/],
  ])('rejects a bad rate limit %j with exit code 2', async (args, message) => {
    const before = await senderCount();
    const run = await create('--channel', 'sms', '--provider', 'sandbox', ...args);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stderr.split('\n')).toHaveLength(2);
    expect(await senderCount()).toBe(before);
  });

  it('requires a rate limit for real providers and validates the other options', async () => {
    expect(
      (
        await create(
          '--channel',
          'whatsapp',
          '--provider',
          'waha',
          '--settings',
          '{"base_url":"http://waha.internal:3000"}',
        )
      ).stderr,
    ).toMatch(/^error: --rate-limit: is required for provider waha/);
    const bad = await create('--channel', 'fax', '--provider', 'sandbox', '--role', 'boss');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(
      /--channel: .*"whatsapp".* \(got "fax"\); --role: .*\(got "boss"\)\n$/,
    );
    expect(
      (await create('--channel', 'sms', '--provider', 'sandbox', '--address', '555')).stderr,
    ).toMatch(/--address: must be an E.164 phone number/);
    expect(
      (
        await cli.run(
          'sender',
          'create',
          '--org',
          'acme',
          '--channel',
          'sms',
          '--provider',
          'sandbox',
          '--name',
          'x',
        )
      ).stderr,
    ).toBe('error: --org: must be a UUID (got "acme")\n');
    const missing = await cli.run(
      'sender',
      'create',
      '--org',
      org,
      '--channel',
      'sms',
      '--provider',
      'sandbox',
    );
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/required option '--name <name>' not specified/);
  });

  it('answers exit code 1 for an organization that does not exist', async () => {
    const run = await cli.run(
      'sender',
      'create',
      '--org',
      '0190c5f5-0000-7000-8000-000000000000',
      '--channel',
      'sms',
      '--provider',
      'sandbox',
      '--name',
      'x',
    );
    expect(run).toMatchObject({
      code: 1,
      stderr: 'error: organization 0190c5f5-0000-7000-8000-000000000000 not found\n',
    });
  });

  it('stores credentials sealed and never prints them', async () => {
    const secret = 'sk_live_do-not-print-me';
    const run = await create(
      '--channel',
      'email',
      '--provider',
      'gmail',
      '--rate-limit',
      '100/1m',
      '--credentials',
      JSON.stringify({ refresh_token: secret }),
    );
    expect(run.code).toBe(0);
    expect(run.stdout).not.toContain(secret);
    expect(run.stdout).toContain('Credentials stored encrypted.');
    const id = /sender ([0-9a-f-]{36})/.exec(run.stdout)?.[1];
    const row = await database.db
      .selectFrom('senders')
      .select('credentials_sealed')
      .where('id', '=', id!)
      .executeTakeFirstOrThrow();
    expect(row.credentials_sealed).toMatch(/^v1\./);
    expect(row.credentials_sealed).not.toContain(secret);
    expect(row.credentials_sealed).not.toContain(Buffer.from(secret).toString('base64url'));
    expect(cli.cipher.open(row.credentials_sealed!)).toEqual({ refresh_token: secret });

    const listed = await cli.run('sender', 'list', '--org', org, '--json');
    expect(listed.stdout).not.toContain(secret);
    expect(listed.stdout).not.toContain(row.credentials_sealed);
  });

  it('never echoes malformed credentials back', async () => {
    const run = await create(
      '--channel',
      'email',
      '--provider',
      'sandbox',
      '--credentials',
      'password=hunter2',
    );
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(
      'error: --credentials: must be a JSON object, such as {"key":"value"}\n',
    );
  });

  it('lists senders by organization and channel', async () => {
    const all = parseJsonOutput<SenderRecord[]>(
      await cli.run('sender', 'list', '--org', org, '--json'),
    );
    expect(all.length).toBe(await senderCount());
    const sms = parseJsonOutput<SenderRecord[]>(
      await cli.run('sender', 'list', '--org', org, '--channel', 'sms', '--json'),
    );
    expect(sms.length).toBeGreaterThan(0);
    expect(sms.every((sender) => sender.channel === 'sms')).toBe(true);
    const table = await cli.run('sender', 'list', '--org', org);
    expect(table.stdout.split('\n')[0]).toMatch(/^ID +ORGANIZATION +CHANNEL +PROVIDER/);
    expect(table.stdout).toContain('600/1m');
  });
});
