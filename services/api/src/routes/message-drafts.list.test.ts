import { decodeOpaqueId } from '@outbound/domain';
import { createTestDatabase, createTestRedis, type TestDatabase } from '@outbound/test/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finishDelivery } from '../test-support/email-drafts.ts';
import { readError } from '../test-support/error-body.ts';
import {
  messageDraftsClient,
  readCreated,
  readMessageDraftList,
  REFERENCE_CREATE_REQUEST,
  seedMessageSender,
  type MessageDraftListBody,
} from '../test-support/message-drafts.ts';
import { seedOrganization, type SeededOrganization } from '../test-support/seed.ts';
import { startTestApp, type TestApp } from '../test-support/test-app.ts';

const redis = createTestRedis();
let database: TestDatabase;
let api: TestApp;

beforeAll(async () => {
  database = await createTestDatabase();
  api = await startTestApp(database, redis);
});

afterAll(async () => {
  await api.stop();
  await database.drop();
  await redis.clear();
});

const saved = { ...REFERENCE_CREATE_REQUEST, add_notification: false };

/** A new organization with an email sender, so each test sees only its own drafts. */
async function organization(name: string) {
  const org: SeededOrganization = await seedOrganization(database.db, name);
  await seedMessageSender(database.db, org.organizationId, 'email');
  const client = messageDraftsClient(api.url, org);
  const create = async (fields: Record<string, unknown> = {}): Promise<string> =>
    (await readCreated(await client.create({ ...saved, ...fields }))).draft_id;
  const list = async (query = ''): Promise<MessageDraftListBody> =>
    readMessageDraftList(await client.list(query));
  /** Every draft id of the listing, following `next_cursor` page by page. */
  const all = async (query: string): Promise<{ ids: string[]; pages: number[] }> => {
    const ids: string[] = [];
    const pages: number[] = [];
    let page = await list(query);
    for (;;) {
      ids.push(...page.data.map((draft) => draft.draft_id));
      pages.push(page.data.length);
      const next = page.pagination.next_cursor;
      expect(page.pagination.has_more).toBe(next !== null);
      if (next === null) return { ids, pages };
      const separator = query === '' ? '?' : '&';
      page = await list(`${query}${separator}cursor=${next}`);
      expect(page.pagination.cursor).toBe(next);
    }
  };
  return { org, client, create, list, all };
}

/** Sets a draft's `created_at` straight in the database. */
async function createdAt(draftId: string, at: string): Promise<void> {
  await database.db
    .updateTable('message_drafts')
    // `created_at` is insert-only in the Database types; a test may still move it.
    .set({ created_at: at } as never)
    .where('id', '=', decodeOpaqueId(draftId)!.id)
    .execute();
}

describe('GET …/message-drafts', () => {
  it('answers the reference’s shape: data and pagination', async () => {
    const { create, list } = await organization('shape');
    const draftId = await create();
    const page = await list('?limit=25');
    expect(page).toEqual({
      data: [
        {
          draft_id: draftId,
          subject: 'Following up on your quote',
          body_html: '<p>Hi Diana, checking in on the quote we sent yesterday.</p>',
          modality: 'email',
          agent_id: null,
          recipient_name: 'Diana Prince',
          recipient_email: 'diana.prince@example.com',
          recipient_phone_number: '+15138675309',
          cc_emails: ['steve.trevor@example.com'],
          bcc_emails: [],
          scheduled_send_at: null,
          folder: 'sales-follow-up',
          created_at: expect.any(String) as string,
          status: 'draft',
        },
      ],
      pagination: { limit: 25, cursor: null, next_cursor: null, has_more: false },
    });
  });

  it('pages 60 drafts newest first, 25 by default, each once, ties broken by id', async () => {
    const { create, list, all } = await organization('sixty');
    const ids: string[] = [];
    for (let i = 0; i < 60; i += 1) ids.push(await create({ subject: `#${i}` }));
    // Draft i is created on day 1 + floor(i / 2) of May 2026: pairs share an instant.
    for (const [i, id] of ids.entries()) {
      const day = String(1 + Math.floor(i / 2)).padStart(2, '0');
      await createdAt(id, `2026-05-${day}T12:00:00Z`);
    }
    const expected = ids
      .map((id, i) => ({ id, day: Math.floor(i / 2), uuid: decodeOpaqueId(id)!.id }))
      .sort((a, b) => b.day - a.day || (a.uuid < b.uuid ? 1 : -1))
      .map((draft) => draft.id);

    const first = await list();
    expect(first.pagination).toMatchObject({ limit: 25, cursor: null, has_more: true });
    expect(first.data.map((draft) => draft.draft_id)).toEqual(expected.slice(0, 25));
    expect(first.data[0]?.created_at).toBe('2026-05-30T12:00:00.000000Z');

    const everything = await all('');
    expect(everything.pages).toEqual([25, 25, 10]);
    expect(everything.ids).toEqual(expected);

    const bySeven = await all('?limit=7');
    expect(bySeven.pages).toEqual([7, 7, 7, 7, 7, 7, 7, 7, 4]);
    expect(bySeven.ids).toEqual(expected);
    expect((await all('?limit=100')).pages).toEqual([60]);

    // Dates: a whole day by date, both ends inclusive; and exact instants.
    const days = (from: number, to: number) =>
      expected.filter((id) => {
        const day = 1 + Math.floor(ids.indexOf(id) / 2);
        return day >= from && day <= to;
      });
    const byDate = await all('?start_date=2026-05-03&end_date=2026-05-10&limit=5');
    expect(byDate.ids).toEqual(days(3, 10));
    expect(byDate.pages).toEqual([5, 5, 5, 1]);
    expect((await all('?start_date=2026-05-29')).ids).toEqual(days(29, 30));
    expect((await all('?end_date=2026-05-02')).ids).toEqual(days(1, 2));
    expect((await all('?start_date=2026-05-10&end_date=2026-05-10')).ids).toEqual(days(10, 10));
    const instants = encodeURIComponent('2026-05-04T12:00:00Z');
    const before = encodeURIComponent('2026-05-06T11:59:59.999999Z');
    expect((await all(`?start_date=${instants}&end_date=${before}`)).ids).toEqual(days(4, 5));
    const offset = encodeURIComponent('2026-05-04T14:00:00+02:00');
    expect((await all(`?start_date=${offset}&end_date=${offset}`)).ids).toEqual(days(4, 4));
    expect((await list('?start_date=2026-06-01')).data).toEqual([]);
  });

  it('binds a cursor to the dates it was made for', async () => {
    const { create, list, client } = await organization('cursor');
    for (let i = 0; i < 4; i += 1) await create();
    const filtered = await list('?start_date=2026-01-01&limit=2');
    const cursor = filtered.pagination.next_cursor!;
    expect(cursor).not.toBeNull();
    // The same dates continue the listing, whatever the limit.
    expect((await list(`?start_date=2026-01-01&limit=3&cursor=${cursor}`)).data).toHaveLength(2);

    for (const query of [
      `?cursor=${cursor}`,
      `?start_date=2026-01-02&limit=2&cursor=${cursor}`,
      `?start_date=2026-01-01&end_date=2099-01-01&cursor=${cursor}`,
    ]) {
      const response = await client.list(query);
      expect(response.status).toBe(400);
      expect((await readError(response)).error.details).toEqual({
        issues: [
          {
            location: 'query',
            path: 'cursor',
            code: 'cursor_mismatch',
            message:
              'cursor belongs to another listing; ask again with the same start_date and end_date',
          },
        ],
      });
    }
    const unfiltered = (await list('?limit=2')).pagination.next_cursor!;
    expect((await client.list(`?start_date=2026-01-01&cursor=${unfiltered}`)).status).toBe(400);
  });

  it.each([
    ['a garbled cursor', '?cursor=not-a-cursor', 'query:cursor'],
    [
      'a cursor of other JSON',
      `?cursor=${Buffer.from('{"v":1}').toString('base64url')}`,
      'query:cursor',
    ],
    ['limit 0', '?limit=0', 'query:limit'],
    ['limit 101', '?limit=101', 'query:limit'],
    ['a bad date', '?start_date=2026-13-01', 'query:start_date'],
    ['a time without offset', '?end_date=2026-05-01T10:00:00', 'query:end_date'],
    ['end before start', '?start_date=2026-05-02&end_date=2026-05-01', 'query:end_date'],
    ['an unknown parameter', '?folder=drafts', 'query:'],
  ])('refuses %s with 400', async (_case, query, path) => {
    const { client } = await organization(`bad ${query}`);
    const response = await client.list(query);
    expect(response.status).toBe(400);
    const error = (await readError(response)).error;
    expect(error.code).toBe('validation_failed');
    const issues = (error.details?.issues ?? []) as { location: string; path: string }[];
    expect(issues.map((issue) => `${issue.location}:${issue.path}`)).toEqual([path]);
  });

  it('leaves out sent drafts and other organizations’ drafts; keeps queued and failed', async () => {
    const { create, list, org } = await organization('mixed');
    const draft = await create();
    const queued = await create({ autosend_draft: true });
    const failed = await create({ autosend_draft: true });
    const sent = await create({ autosend_draft: true });
    const sendOf = async (draftId: string) =>
      (
        await database.db
          .selectFrom('message_drafts')
          .select('send_id')
          .where('id', '=', decodeOpaqueId(draftId)!.id)
          .executeTakeFirstOrThrow()
      ).send_id!;
    await finishDelivery(database.db, await sendOf(failed), {
      errorCode: 'invalid_recipient',
      errorMessage: 'no',
    });
    await finishDelivery(database.db, await sendOf(sent), { providerMessageId: 'p-1' });

    const stranger = await organization('mixed, stranger');
    await stranger.create();

    const page = await list();
    expect(page.data.map((row) => [row.draft_id, row.status])).toEqual([
      [failed, 'failed'],
      [queued, 'queued'],
      [draft, 'draft'],
    ]);
    expect(page.data[1]?.scheduled_send_at).not.toBeNull();
    expect(org.organizationId).not.toBe(stranger.org.organizationId);
    expect((await stranger.list()).data).toHaveLength(1);
  });

  it('answers 404 for another organization in the path', async () => {
    const { org } = await organization('mine');
    const { org: other } = await organization('theirs');
    const response = await messageDraftsClient(api.url, org, other.organizationId).list();
    expect(response.status).toBe(404);
    expect((await readError(response)).error.code).toBe('not_found');
  });
});
