import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CredentialsCipher, SANDBOX_RATE_LIMIT } from '@outbound/domain';
import { createTestDatabase, type TestDatabase } from '@outbound/test/harness';
import { authenticateApiKey, createApiKey, revokeApiKey } from './api-keys.repository.ts';
import { addGroupToSession, createGroup, listGroups } from './groups.repository.ts';
import { createOrganization } from './organizations.repository.ts';
import { createSender, loadSenderCredentials } from './senders.repository.ts';

describe('repositories', () => {
  let database: TestDatabase;
  const cipher = new CredentialsCipher(randomBytes(32).toString('base64'));

  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database.drop();
  });

  async function organizationWithSession(name: string) {
    const organization = await createOrganization(database.db, name);
    const session = await createSender(database.db, cipher, {
      organizationId: organization.id,
      channel: 'whatsapp',
      provider: 'sandbox',
      name: `${name} session`,
      rateLimit: SANDBOX_RATE_LIMIT,
      credentials: { token: `${name}-secret` },
    });
    return { organization, session };
  }

  it('authenticates a key to its owner until it is revoked', async () => {
    const { organization } = await organizationWithSession('keys');
    const { key, record } = await createApiKey(database.db, {
      organizationId: organization.id,
      actorUserId: 'user_1',
    });
    expect(await authenticateApiKey(database.db, key)).toEqual({
      apiKeyId: record.id,
      organizationId: organization.id,
      actorUserId: 'user_1',
    });
    expect(await authenticateApiKey(database.db, key.replace(/.$/, 'x'))).toBeUndefined();
    expect(await revokeApiKey(database.db, record.prefix)).toBe(true);
    expect(await revokeApiKey(database.db, record.id)).toBe(false);
    expect(await authenticateApiKey(database.db, key)).toBeUndefined();
  });

  it('stores credentials sealed and opens them on request', async () => {
    const { session } = await organizationWithSession('sealed');
    const row = await database.db
      .selectFrom('senders')
      .select('credentials_sealed')
      .where('id', '=', session.id)
      .executeTakeFirstOrThrow();
    expect(row.credentials_sealed).not.toContain('sealed-secret');
    expect(await loadSenderCredentials(database.db, cipher, session.id)).toEqual({
      token: 'sealed-secret',
    });
  });

  it('lists groups with the sessions they are present in', async () => {
    const { organization, session } = await organizationWithSession('groups');
    const group = await createGroup(database.db, {
      organizationId: organization.id,
      chatId: '1203@g.us',
    });
    const lonely = await createGroup(database.db, {
      organizationId: organization.id,
      chatId: '1204@g.us',
    });
    await addGroupToSession(database.db, {
      organizationId: organization.id,
      groupId: group.id,
      sessionId: session.id,
    });
    const all = await listGroups(database.db, { organizationId: organization.id });
    expect(all.map((g) => [g.id, g.session_ids])).toEqual([
      [group.id, [session.id]],
      [lonely.id, []],
    ]);
    const other = await createSender(database.db, cipher, {
      organizationId: organization.id,
      channel: 'whatsapp',
      provider: 'sandbox',
      name: 'second session',
      rateLimit: SANDBOX_RATE_LIMIT,
    });
    await addGroupToSession(database.db, {
      organizationId: organization.id,
      groupId: group.id,
      sessionId: other.id,
    });
    const inSession = await listGroups(database.db, { sessionId: session.id });
    expect(inSession.map((g) => [g.id, g.session_ids.sort()])).toEqual([
      [group.id, [session.id, other.id].sort()],
    ]);
  });

  it("refuses to link one organization's group to another's session", async () => {
    const mine = await organizationWithSession('mine');
    const theirs = await organizationWithSession('theirs');
    const group = await createGroup(database.db, {
      organizationId: mine.organization.id,
      chatId: 'x@g.us',
    });
    await expect(
      addGroupToSession(database.db, {
        organizationId: mine.organization.id,
        groupId: group.id,
        sessionId: theirs.session.id,
      }),
    ).rejects.toMatchObject({ code: '23503' });
  });

  it('refuses a provider that does not serve the channel', async () => {
    const organization = await createOrganization(database.db, 'mismatch');
    await expect(
      createSender(database.db, cipher, {
        organizationId: organization.id,
        channel: 'sms',
        provider: 'gmail',
        name: 'wrong',
        rateLimit: SANDBOX_RATE_LIMIT,
      }),
    ).rejects.toMatchObject({ code: '23514' });
  });
});
