import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CredentialsCipher, SANDBOX_RATE_LIMIT } from '@outbound/domain';
import { createTestDatabase, type TestDatabase } from '@outbound/test/harness';
import { createOrganization } from './organizations.repository.ts';
import { createSender } from './senders.repository.ts';
import {
  createWhatsappDraft,
  deleteWhatsappDraft,
  findWhatsappDraft,
  listWhatsappDrafts,
  updateWhatsappDraft,
  type WhatsappDraftContent,
  type WhatsappDraftOwner,
  type WhatsappDraftRecord,
} from './whatsapp-drafts.repository.ts';

describe('whatsapp drafts repository', () => {
  let database: TestDatabase;
  const cipher = new CredentialsCipher(randomBytes(32).toString('base64'));
  let owner: WhatsappDraftOwner;
  let sessionId: string;
  let otherSessionId: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    const organizationId = (await createOrganization(database.db, 'drafts')).id;
    owner = { organizationId, actorUserId: 'user_1' };
    sessionId = await session(organizationId, 'main');
    otherSessionId = await session(organizationId, 'second');
  });
  afterAll(async () => {
    await database.drop();
  });

  async function session(organizationId: string, name: string): Promise<string> {
    const created = await createSender(database.db, cipher, {
      organizationId,
      channel: 'whatsapp',
      provider: 'sandbox',
      name,
      label: `${name} label`,
      rateLimit: SANDBOX_RATE_LIMIT,
    });
    return created.id;
  }

  function content(overrides: Partial<WhatsappDraftContent> = {}): WhatsappDraftContent {
    return { sessionId, groupIds: [], text: '', media: [], schedule: null, ...overrides };
  }

  it('stores a draft and reads it back with its session name and label', async () => {
    const groupId = crypto.randomUUID();
    const created = await createWhatsappDraft(
      database.db,
      owner,
      content({
        groupIds: [groupId],
        text: 'hello',
        media: [{ url: 'https://cdn.example/a.jpg', mimetype: 'image/jpeg' }],
        schedule: { first_run_at_ms: 1_777_809_600_000, max_occurrences: 2 },
      }),
    );
    expect(created).toMatchObject({
      organization_id: owner.organizationId,
      actor_user_id: 'user_1',
      session_id: sessionId,
      session_name: 'main',
      session_label: 'main label',
      group_ids: [groupId],
      text: 'hello',
      media: [{ url: 'https://cdn.example/a.jpg', mimetype: 'image/jpeg' }],
      schedule: { first_run_at_ms: 1_777_809_600_000, max_occurrences: 2 },
    });
    expect(created.created_at).toBeInstanceOf(Date);
    expect(await findWhatsappDraft(database.db, owner, created.id)).toEqual(created);
  });

  it('keeps every draft to its owner: another actor or organization finds nothing', async () => {
    const created = await createWhatsappDraft(database.db, owner, content({ text: 'mine' }));
    const otherOrganization = (await createOrganization(database.db, 'other')).id;
    for (const stranger of [
      { organizationId: owner.organizationId, actorUserId: 'user_2' },
      { organizationId: otherOrganization, actorUserId: 'user_1' },
    ]) {
      expect(await findWhatsappDraft(database.db, stranger, created.id)).toBeUndefined();
      expect(await updateWhatsappDraft(database.db, stranger, created.id, content())).toBe(
        undefined,
      );
      expect(await deleteWhatsappDraft(database.db, stranger, created.id)).toBe(false);
      const page = await listWhatsappDrafts(database.db, { owner: stranger, limit: 100 });
      expect(page.drafts.map((draft) => draft.id)).not.toContain(created.id);
    }
    expect((await findWhatsappDraft(database.db, owner, created.id))?.text).toBe('mine');
  });

  it('replaces the content on update, moving updated_at at least a millisecond', async () => {
    const created = await createWhatsappDraft(database.db, owner, content({ text: 'before' }));
    const updated = await updateWhatsappDraft(
      database.db,
      owner,
      created.id,
      content({ sessionId: otherSessionId, text: 'after' }),
    );
    expect(updated).toMatchObject({ id: created.id, session_name: 'second', text: 'after' });
    expect(updated?.created_at).toEqual(created.created_at);
    expect(updated?.updated_at.getTime()).toBeGreaterThan(created.updated_at.getTime());
    const again = await updateWhatsappDraft(database.db, owner, created.id, content());
    expect(again?.updated_at.getTime()).toBeGreaterThan(updated?.updated_at.getTime() ?? 0);
  });

  it('moves updated_at forward even when it is ahead of the clock', async () => {
    const created = await createWhatsappDraft(database.db, owner, content());
    const ahead = '2100-01-01T00:00:00.000000Z';
    await database.db
      .updateTable('whatsapp_drafts')
      .set({ updated_at: ahead })
      .where('id', '=', created.id)
      .execute();
    const updated = await updateWhatsappDraft(database.db, owner, created.id, content());
    expect(updated?.updated_at.getTime()).toBe(Date.parse(ahead) + 1);
  });

  it('deletes a draft once', async () => {
    const created = await createWhatsappDraft(database.db, owner, content());
    expect(await deleteWhatsappDraft(database.db, owner, created.id)).toBe(true);
    expect(await deleteWhatsappDraft(database.db, owner, created.id)).toBe(false);
    expect(await findWhatsappDraft(database.db, owner, created.id)).toBeUndefined();
  });

  it('pages newest first, breaking ties by id and keeping microseconds, with no gap or repeat', async () => {
    const lister: WhatsappDraftOwner = { organizationId: owner.organizationId, actorUserId: 'pg' };
    const drafts: WhatsappDraftRecord[] = [];
    for (let i = 0; i < 7; i += 1) {
      drafts.push(await createWhatsappDraft(database.db, lister, content({ text: `d${i}` })));
    }
    // Ties on updated_at, and times apart by less than a millisecond, which a Date cannot hold.
    const times = [
      '2026-01-01T00:00:00.000100Z',
      '2026-01-01T00:00:00.000100Z',
      '2026-01-01T00:00:00.000100Z',
      '2026-01-01T00:00:00.000200Z',
      '2026-01-01T00:00:00.000300Z',
      '2026-01-01T00:00:00.000300Z',
      '2026-01-01T00:00:00.000900Z',
    ];
    for (const [index, draft] of drafts.entries()) {
      await database.db
        .updateTable('whatsapp_drafts')
        .set({ updated_at: times[index] ?? '' })
        .where('id', '=', draft.id)
        .execute();
    }
    const expected = drafts
      .map((draft, index) => ({ id: draft.id, at: times[index] ?? '' }))
      .sort((a, b) => (a.at === b.at ? (a.id < b.id ? 1 : -1) : a.at < b.at ? 1 : -1))
      .map((draft) => draft.id);

    const seen: string[] = [];
    let page = await listWhatsappDrafts(database.db, { owner: lister, limit: 2 });
    seen.push(...page.drafts.map((draft) => draft.id));
    let pages = 1;
    while (page.next !== undefined) {
      page = await listWhatsappDrafts(database.db, { owner: lister, limit: 2, after: page.next });
      seen.push(...page.drafts.map((draft) => draft.id));
      pages += 1;
    }
    expect(seen).toEqual(expected);
    expect(pages).toBe(4);

    const exact = await listWhatsappDrafts(database.db, { owner: lister, limit: 7 });
    expect(exact.drafts).toHaveLength(7);
    expect(exact.next).toBeUndefined();
  });

  it('filters a listing by session', async () => {
    const lister: WhatsappDraftOwner = { organizationId: owner.organizationId, actorUserId: 'f' };
    const inMain = await createWhatsappDraft(database.db, lister, content());
    const inSecond = await createWhatsappDraft(
      database.db,
      lister,
      content({ sessionId: otherSessionId }),
    );
    const page = await listWhatsappDrafts(database.db, {
      owner: lister,
      sessionId: otherSessionId,
      limit: 10,
    });
    expect(page.drafts.map((draft) => draft.id)).toEqual([inSecond.id]);
    const all = await listWhatsappDrafts(database.db, { owner: lister, limit: 10 });
    expect(all.drafts.map((draft) => draft.id)).toEqual([inSecond.id, inMain.id]);
  });
});
