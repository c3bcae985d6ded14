import type { GroupWithSessions, Organization, SenderRecord } from '@outbound/db';
import { createTestDatabase, type TestDatabase } from '@outbound/test/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliRunner, createCliRunner, parseJsonOutput } from './testing/run-cli.ts';

describe('outbound group', () => {
  let database: TestDatabase;
  let cli: CliRunner;
  let org: string;
  let otherOrg: string;
  let sessionA: string;
  let sessionB: string;
  let emailSender: string;
  let foreignSession: string;

  const createOrg = async (name: string) =>
    parseJsonOutput<Organization>(await cli.run('org', 'create', '--name', name, '--json')).id;
  const createSender = async (organization: string, channel: string) =>
    parseJsonOutput<SenderRecord>(
      await cli.run(
        'sender',
        'create',
        '--org',
        organization,
        '--channel',
        channel,
        '--provider',
        'sandbox',
        '--name',
        `${channel} sender`,
        '--json',
      ),
    ).id;
  const presence = async (groupId: string) =>
    (
      await database.db
        .selectFrom('group_sessions')
        .select('session_id')
        .where('group_id', '=', groupId)
        .orderBy('session_id')
        .execute()
    ).map((row) => row.session_id);

  beforeAll(async () => {
    database = await createTestDatabase();
    cli = createCliRunner(database.db);
    org = await createOrg('Groups');
    otherOrg = await createOrg('Other');
    sessionA = await createSender(org, 'whatsapp');
    sessionB = await createSender(org, 'whatsapp');
    emailSender = await createSender(org, 'email');
    foreignSession = await createSender(otherOrg, 'whatsapp');
  });
  afterAll(async () => {
    await database.drop();
  });

  it('creates a group present in the sessions given', async () => {
    const group = parseJsonOutput<GroupWithSessions>(
      await cli.run(
        'group',
        'create',
        '--org',
        org,
        '--chat-id',
        '120363001@g.us',
        '--name',
        'Team',
        '--session',
        sessionA,
        sessionB,
        '--json',
      ),
    );
    expect(group).toMatchObject({ organization_id: org, chat_id: '120363001@g.us', name: 'Team' });
    expect(await presence(group.id)).toEqual([sessionA, sessionB].sort());
  });

  it('adds an existing group to a session, once', async () => {
    const created = await cli.run('group', 'create', '--org', org, '--chat-id', '120363002@g.us');
    expect(created.stdout).toMatch(/present in no session yet\.\n$/);
    const groupId = /group ([0-9a-f-]{36})/.exec(created.stdout)![1]!;
    for (let run = 0; run < 2; run += 1) {
      const added = await cli.run(
        'group',
        'add-to-session',
        '--group',
        groupId,
        '--session',
        sessionB,
      );
      expect(added).toMatchObject({
        code: 0,
        stdout: `Group ${groupId} is present in session ${sessionB}.\n`,
      });
    }
    expect(await presence(groupId)).toEqual([sessionB]);
  });

  it("refuses another organization's session, a non-WhatsApp sender and a duplicate chat id", async () => {
    const foreign = await cli.run(
      'group',
      'create',
      '--org',
      org,
      '--chat-id',
      '120363003@g.us',
      '--session',
      foreignSession,
    );
    expect(foreign).toMatchObject({
      code: 1,
      stderr: `error: session ${foreignSession} not found in organization ${org}\n`,
    });
    // Nothing was created: the group and its presence are one transaction.
    const leftover = await database.db
      .selectFrom('groups')
      .select('id')
      .where('chat_id', '=', '120363003@g.us')
      .execute();
    expect(leftover).toEqual([]);

    const email = await cli.run(
      'group',
      'create',
      '--org',
      org,
      '--chat-id',
      '120363003@g.us',
      '--session',
      emailSender,
    );
    expect(email.code).toBe(2);
    expect(email.stderr).toMatch(/is on the email channel; groups live in WhatsApp sessions/);

    const duplicate = await cli.run('group', 'create', '--org', org, '--chat-id', '120363001@g.us');
    expect(duplicate).toMatchObject({
      code: 1,
      stderr: `error: organization ${org} already has a group with chat id 120363001@g.us\n`,
    });

    const unknownGroup = await cli.run(
      'group',
      'add-to-session',
      '--group',
      '0190c5f5-0000-7000-8000-000000000000',
      '--session',
      sessionA,
    );
    expect(unknownGroup.code).toBe(1);
  });

  it('lists groups by organization and by session', async () => {
    const all = parseJsonOutput<GroupWithSessions[]>(
      await cli.run('group', 'list', '--org', org, '--json'),
    );
    expect(all.map((group) => group.chat_id).sort()).toEqual(['120363001@g.us', '120363002@g.us']);
    const inA = parseJsonOutput<GroupWithSessions[]>(
      await cli.run('group', 'list', '--session', sessionA, '--json'),
    );
    expect(inA.map((group) => group.chat_id)).toEqual(['120363001@g.us']);
    expect(parseJsonOutput(await cli.run('group', 'list', '--org', otherOrg, '--json'))).toEqual(
      [],
    );
    expect((await cli.run('group', 'list', '--org', otherOrg)).stdout).toBe('No groups.\n');
  });
});
