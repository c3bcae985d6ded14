import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '@outbound/test/harness';
import { createAgent, findAgent, findAgentByEmail, listAgents } from './agents.repository.ts';
import { createOrganization } from './organizations.repository.ts';

describe('agents repository', () => {
  let database: TestDatabase;
  let organizationId: string;
  let otherOrganizationId: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    organizationId = (await createOrganization(database.db, 'agents')).id;
    otherOrganizationId = (await createOrganization(database.db, 'other')).id;
  });
  afterAll(async () => {
    await database.drop();
  });

  it('creates agents with integer ids and lists them oldest first, per organization', async () => {
    const ada = await createAgent(database.db, {
      organizationId,
      email: 'ada@example.test',
      name: 'Ada',
    });
    const bob = await createAgent(database.db, { organizationId, email: 'bob@example.test' });
    await createAgent(database.db, {
      organizationId: otherOrganizationId,
      email: 'ada@example.test',
    });
    expect(ada).toMatchObject({ organization_id: organizationId, email: 'ada@example.test' });
    expect(Number.isSafeInteger(ada.id)).toBe(true);
    expect(bob.name).toBe('');
    expect(await listAgents(database.db, organizationId)).toEqual([ada, bob]);
  });

  it('refuses a second agent with the same email in one organization', async () => {
    await createAgent(database.db, { organizationId, email: 'twice@example.test' });
    await expect(
      createAgent(database.db, { organizationId, email: 'twice@example.test' }),
    ).rejects.toMatchObject({ code: '23505' });
  });

  it('finds an agent by id or email (any case) only within its organization', async () => {
    const carol = await createAgent(database.db, { organizationId, email: 'Carol@Example.test' });
    expect(await findAgent(database.db, organizationId, carol.id)).toEqual(carol);
    expect(await findAgent(database.db, otherOrganizationId, carol.id)).toBeUndefined();
    expect(await findAgentByEmail(database.db, organizationId, 'carol@example.TEST')).toEqual(
      carol,
    );
    expect(
      await findAgentByEmail(database.db, otherOrganizationId, 'carol@example.test'),
    ).toBeUndefined();
    expect(await findAgentByEmail(database.db, organizationId, 'nobody@example.test')).toBe(
      undefined,
    );
  });
});
