import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '@outbound/test/harness';
import { createAgent } from './agents.repository.ts';
import {
  createConversationDraft,
  deleteConversationDraft,
  findConversationDraft,
  listConversationDrafts,
  type ConversationDraft,
  type CreateConversationDraftOptions,
} from './conversation-drafts.repository.ts';
import { createConversation } from './conversations.repository.ts';
import { createOrganization } from './organizations.repository.ts';

describe('conversation drafts repository', () => {
  let database: TestDatabase;
  let organizationId: string;
  let otherOrganizationId: string;
  let conversationId: number;
  let secondConversationId: number;
  let authorId: number;
  let targetId: number;
  let foreignAgentId: number;

  beforeAll(async () => {
    database = await createTestDatabase();
    organizationId = (await createOrganization(database.db, 'drafts')).id;
    otherOrganizationId = (await createOrganization(database.db, 'other')).id;
    const conversation = (subject: string) =>
      createConversation(database.db, { organizationId, modality: 'email', subject });
    conversationId = (await conversation('first')).id;
    secondConversationId = (await conversation('second')).id;
    authorId = (await createAgent(database.db, { organizationId, email: 'a@example.test' })).id;
    targetId = (await createAgent(database.db, { organizationId, email: 't@example.test' })).id;
    foreignAgentId = (
      await createAgent(database.db, {
        organizationId: otherOrganizationId,
        email: 'a@example.test',
      })
    ).id;
  });
  afterAll(async () => {
    await database.drop();
  });

  function create(overrides: Partial<CreateConversationDraftOptions> = {}) {
    return createConversationDraft(database.db, {
      organizationId,
      conversationId,
      authorId,
      targetId: null,
      title: null,
      content: { content: 'hello' },
      ...overrides,
    });
  }

  async function moveCreatedAt(id: number, createdAt: Date): Promise<void> {
    await sql`UPDATE conversation_drafts SET created_at = ${createdAt} WHERE id = ${id}`.execute(
      database.db,
    );
  }

  it('stores a draft and finds it by id, and by id within its conversation', async () => {
    const draft = await create({ targetId, title: 'Reply', content: { content: 'Hi there' } });
    expect(draft).toMatchObject({
      organization_id: organizationId,
      conversation_id: conversationId,
      author_id: authorId,
      target_id: targetId,
      title: 'Reply',
      content: { content: 'Hi there' },
    });
    expect(draft.created_at).toBeInstanceOf(Date);
    const found = { organizationId, draftId: draft.id };
    expect(await findConversationDraft(database.db, found)).toEqual(draft);
    expect(await findConversationDraft(database.db, { ...found, conversationId })).toEqual(draft);
    expect(
      await findConversationDraft(database.db, {
        ...found,
        conversationId: secondConversationId,
      }),
    ).toBeUndefined();
    expect(
      await findConversationDraft(database.db, { ...found, organizationId: otherOrganizationId }),
    ).toBeUndefined();
  });

  it("refuses another organization's agent and a title past 250 characters", async () => {
    await expect(create({ authorId: foreignAgentId })).rejects.toMatchObject({ code: '23503' });
    await expect(create({ targetId: foreignAgentId })).rejects.toMatchObject({ code: '23503' });
    await expect(create({ title: 'x'.repeat(251) })).rejects.toMatchObject({ code: '23514' });
  });

  it('lists a conversation newest first, page by page, without repeats or gaps', async () => {
    const created: ConversationDraft[] = [];
    for (let i = 0; i < 5; i += 1) {
      created.push(await create({ conversationId: secondConversationId, title: `d${i}` }));
    }
    // Two drafts in the same instant are ordered by id.
    await moveCreatedAt(created[3]!.id, created[4]!.created_at);
    // Newest means created last, whatever the id says.
    await moveCreatedAt(created[0]!.id, new Date(Date.now() + 3_600_000));
    const seen: number[] = [];
    let after: { createdAt: string; id: number } | undefined;
    for (let pages = 0; pages < 10; pages += 1) {
      const page = await listConversationDrafts(database.db, {
        organizationId,
        conversationId: secondConversationId,
        limit: 2,
        ...(after === undefined ? {} : { after }),
      });
      seen.push(...page.drafts.map((draft) => draft.id));
      after = page.next;
      if (after === undefined) break;
    }
    const [first, second, third, fourth, fifth] = created.map((draft) => draft.id);
    expect(seen).toEqual([first, fifth, fourth, third, second]);
    const other = await listConversationDrafts(database.db, {
      organizationId: otherOrganizationId,
      conversationId: secondConversationId,
      limit: 10,
    });
    expect(other).toEqual({ drafts: [] });
  });

  it('deletes a draft only through its own conversation and organization', async () => {
    const draft = await create();
    const target = { organizationId, conversationId, draftId: draft.id };
    expect(
      await deleteConversationDraft(database.db, {
        ...target,
        conversationId: secondConversationId,
      }),
    ).toBe(false);
    expect(
      await deleteConversationDraft(database.db, {
        ...target,
        organizationId: otherOrganizationId,
      }),
    ).toBe(false);
    expect(await deleteConversationDraft(database.db, target)).toBe(true);
    expect(await deleteConversationDraft(database.db, target)).toBe(false);
    expect(await findConversationDraft(database.db, target)).toBeUndefined();
  });
});
