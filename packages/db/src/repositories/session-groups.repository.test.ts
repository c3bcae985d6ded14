import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CredentialsCipher, SANDBOX_RATE_LIMIT } from '@outbound/domain';
import { createTestDatabase, type TestDatabase } from '@outbound/test/harness';
import { addGroupToSession, createGroup } from './groups.repository.ts';
import { createOrganization } from './organizations.repository.ts';
import { createSender } from './senders.repository.ts';
import { findGroupsInSession } from './session-groups.repository.ts';

describe('findGroupsInSession', () => {
  let database: TestDatabase;
  const cipher = new CredentialsCipher(randomBytes(32).toString('base64'));

  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database.drop();
  });

  async function session(organizationId: string) {
    return (
      await createSender(database.db, cipher, {
        organizationId,
        channel: 'whatsapp',
        provider: 'sandbox',
        name: 's',
        rateLimit: SANDBOX_RATE_LIMIT,
      })
    ).id;
  }

  it('answers only groups of the organization present in the session, in the order asked', async () => {
    const org = (await createOrganization(database.db, 'a')).id;
    const other = (await createOrganization(database.db, 'b')).id;
    const mine = await session(org);
    const elsewhere = await session(org);
    const theirs = await session(other);
    const group = async (organizationId: string, sessionId: string, chat: string) => {
      const created = await createGroup(database.db, { organizationId, chatId: chat });
      await addGroupToSession(database.db, { organizationId, groupId: created.id, sessionId });
      return created.id;
    };
    const a = await group(org, mine, 'a@g.us');
    const b = await group(org, mine, 'b@g.us');
    const notHere = await group(org, elsewhere, 'c@g.us');
    const foreign = await group(other, theirs, 'd@g.us');

    const found = await findGroupsInSession(database.db, {
      organizationId: org,
      sessionId: mine,
      groupIds: [b, notHere, foreign, a, crypto.randomUUID()],
    });
    expect(found).toEqual([
      { id: b, chat_id: 'b@g.us' },
      { id: a, chat_id: 'a@g.us' },
    ]);
    expect(
      await findGroupsInSession(database.db, {
        organizationId: org,
        sessionId: mine,
        groupIds: [],
      }),
    ).toEqual([]);
  });
});
