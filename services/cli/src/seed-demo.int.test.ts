import { authenticateApiKey, findConversation, listConversationMessages } from '@outbound/db';
import { SANDBOX_RATE_LIMIT } from '@outbound/domain';
import { createTestDatabase, type TestDatabase } from '@outbound/test/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDemoResultSchema, type SeedDemoResult } from './seed-demo.ts';
import { type CliRunner, createCliRunner } from './testing/run-cli.ts';

describe('outbound seed-demo', () => {
  let database: TestDatabase;
  let cli: CliRunner;

  beforeAll(async () => {
    database = await createTestDatabase();
    cli = createCliRunner(database.db);
  });
  afterAll(async () => {
    await database.drop();
  });

  async function seed(): Promise<SeedDemoResult> {
    const run = await cli.run('seed-demo', '--json');
    expect(run).toMatchObject({ code: 0, stderr: '' });
    // Exactly one JSON document: JSON.parse rejects anything before or after it.
    return seedDemoResultSchema.parse(JSON.parse(run.stdout));
  }

  async function presence(organizationId: string): Promise<Map<string, string[]>> {
    const rows = await database.db
      .selectFrom('group_sessions')
      .select(['group_id', 'session_id'])
      .where('organization_id', '=', organizationId)
      .orderBy('session_id')
      .execute();
    const byGroup = new Map<string, string[]>();
    for (const row of rows)
      byGroup.set(row.group_id, [...(byGroup.get(row.group_id) ?? []), row.session_id]);
    return byGroup;
  }

  it('prints one JSON object whose ids are laid out as promised', async () => {
    const seeded = await seed();
    const { db } = database;

    const senders = await db
      .selectFrom('senders')
      .selectAll()
      .where('organization_id', '=', seeded.organization_id)
      .execute();
    const sender = (id: string) => senders.find((row) => row.id === id);
    expect(senders).toHaveLength(5);
    expect(sender(seeded.sessions.working)).toMatchObject({
      channel: 'whatsapp',
      provider: 'sandbox',
      role: 'sending',
      status: 'WORKING',
    });
    expect(sender(seeded.sessions.receiving)).toMatchObject({
      channel: 'whatsapp',
      provider: 'sandbox',
      role: 'receiving',
      status: 'WORKING',
    });
    expect(sender(seeded.sessions.stopped)).toMatchObject({
      channel: 'whatsapp',
      provider: 'sandbox',
      role: 'sending',
      status: 'STOPPED',
    });
    expect(sender(seeded.email_account_id)).toMatchObject({
      channel: 'email',
      provider: 'sandbox',
      role: 'sending',
      status: 'WORKING',
    });
    expect(sender(seeded.email_account_id)?.address).toMatch(/^demo-[0-9a-f]+@outbound\.test$/);
    expect(sender(seeded.sms_sender_id)).toMatchObject({
      channel: 'sms',
      provider: 'sandbox',
      status: 'WORKING',
    });
    expect(sender(seeded.sms_sender_id)?.address).toMatch(/^\+[1-9]\d{6,14}$/);
    for (const row of senders) {
      // At least SANDBOX_RATE_LIMIT's pace: max/window no slower than 600 a minute.
      expect(row.rate_limit_max / row.rate_limit_window_ms).toBeGreaterThanOrEqual(
        SANDBOX_RATE_LIMIT.max / SANDBOX_RATE_LIMIT.window_ms,
      );
    }

    const groups = await db
      .selectFrom('groups')
      .select('id')
      .where('organization_id', '=', seeded.organization_id)
      .execute();
    expect(groups.map((row) => row.id).sort()).toEqual(
      [...seeded.group_ids, seeded.foreign_group_id].sort(),
    );
    expect(new Set(seeded.group_ids).size).toBe(3);
    const present = await presence(seeded.organization_id);
    for (const groupId of seeded.group_ids) {
      expect(present.get(groupId)).toEqual([seeded.sessions.working]);
    }
    expect(present.get(seeded.foreign_group_id)).toEqual([seeded.sessions.stopped]);
  });

  it('adds two agents and a conversation with a message to the organization', async () => {
    const seeded = await seed();
    const { db } = database;
    expect(seeded.agents.length).toBeGreaterThanOrEqual(2);
    const agents = await db
      .selectFrom('agents')
      .select(['id', 'email'])
      .where('organization_id', '=', seeded.organization_id)
      .orderBy('id')
      .execute();
    expect(agents).toEqual(seeded.agents);
    expect(new Set(seeded.agents.map((agent) => agent.email)).size).toBe(seeded.agents.length);

    const conversation = await findConversation(db, seeded.organization_id, seeded.conversation_id);
    expect(conversation).toMatchObject({ modality: 'email', subject: 'Where is my order?' });
    const messages = await listConversationMessages(
      db,
      seeded.organization_id,
      seeded.conversation_id,
    );
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatchObject({ direction: 'inbound' });

    // Another run's organization owns other agents and another conversation.
    const again = await seed();
    expect(again.conversation_id).not.toBe(seeded.conversation_id);
    expect(again.agents.map((agent) => agent.id)).not.toContain(seeded.agents[0]!.id);
    expect(
      await findConversation(db, again.organization_id, seeded.conversation_id),
    ).toBeUndefined();
  });

  it('gives each actor a key that authenticates to the organization', async () => {
    const seeded = await seed();
    expect(seeded.actor_user_id).not.toBe(seeded.second_actor.actor_user_id);
    expect(await authenticateApiKey(database.db, seeded.api_key)).toMatchObject({
      organizationId: seeded.organization_id,
      actorUserId: seeded.actor_user_id,
    });
    expect(await authenticateApiKey(database.db, seeded.second_actor.api_key)).toMatchObject({
      organizationId: seeded.organization_id,
      actorUserId: seeded.second_actor.actor_user_id,
    });
  });

  it('creates a new organization every time', async () => {
    const first = await seed();
    const second = await seed();
    expect(second.organization_id).not.toBe(first.organization_id);
    expect(second.api_key).not.toBe(first.api_key);
    expect(second.sessions.working).not.toBe(first.sessions.working);
    const organizations = await database.db
      .selectFrom('organizations')
      .select('id')
      .where('id', 'in', [first.organization_id, second.organization_id])
      .execute();
    expect(organizations).toHaveLength(2);
  });

  it('revoking the printed key makes it fail to authenticate, and only that key', async () => {
    const seeded = await seed();
    const prefix = seeded.api_key.split('_')[1]!;
    const revoked = await cli.run('api-key', 'revoke', prefix);
    expect(revoked).toMatchObject({ code: 0, stderr: '' });
    expect(await authenticateApiKey(database.db, seeded.api_key)).toBeUndefined();
    expect(await authenticateApiKey(database.db, seeded.second_actor.api_key)).toBeDefined();

    const again = await cli.run('api-key', 'revoke', prefix);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(
      /^error: no active API key matches .* \(unknown or already revoked\)\n$/,
    );
  });

  it('prints a readable summary without --json', async () => {
    const run = await cli.run('seed-demo');
    expect(run.code).toBe(0);
    expect(() => JSON.parse(run.stdout) as unknown).toThrow();
    expect(run.stdout).toMatch(/^Demo organization [0-9a-f-]{36}\n/);
    expect(run.stdout).toMatch(/API keys \(shown only this once\):\n {2}user_demo_\w+ {2}ob_\w+/);
    expect(run.stdout).toContain('working');
    expect(run.stdout).toMatch(
      /Agents \(author_id \/ author_email of conversation drafts\):\n {2}\d+ {2}ada-\w+@outbound\.test\n {2}\d+ {2}sam-/,
    );
    expect(run.stdout).toMatch(/Conversation with one inbound message: \d+\n$/);
  });
});
