import { createTestDatabase, createTestRedis, type TestDatabase } from '@outbound/test/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  emailDraftsClient,
  finishDelivery,
  readDraft,
  seedEmailAccount,
  type EmailDraftBody,
} from '../test-support/email-drafts.ts';
import { readError } from '../test-support/error-body.ts';
import { seedOrganization } from '../test-support/seed.ts';
import { startTestApp, type TestApp } from '../test-support/test-app.ts';
import { emailDraftListSchema } from './email-drafts.schema.ts';

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

/** A new organization with an email account, so each test sees only its own drafts. */
async function organization(name: string) {
  const org = await seedOrganization(database.db, name);
  const accountId = await seedEmailAccount(database.db, org.organizationId, `${name}@acme.example`);
  const client = emailDraftsClient(api.url, org);
  const save = async (fields: Record<string, unknown> = {}): Promise<EmailDraftBody> => {
    const response = await client.save({ from_account_id: accountId, ...fields });
    expect(response.status).toBe(201);
    return readDraft(response);
  };
  const list = async (query: string) => {
    const response = await client.list(query);
    expect(response.status).toBe(200);
    return emailDraftListSchema.strict().parse(await response.json());
  };
  return { client, save, list };
}

describe('GET /api/email/drafts', () => {
  it('pages through the organization’s drafts newest first, each once', async () => {
    const { save, list } = await organization('pages');
    const uids: string[] = [];
    for (let i = 0; i < 7; i += 1) uids.push((await save({ subject: `#${i}` })).uid);

    const first = await list('?limit=3');
    expect(first.pagination).toMatchObject({ limit: 3, cursor: null, has_more: true });
    const seen = first.data.map((draft) => draft.uid);
    let cursor = first.pagination.next_cursor;
    while (cursor !== null) {
      const page = await list(`?limit=3&cursor=${cursor}`);
      expect(page.pagination.cursor).toBe(cursor);
      seen.push(...page.data.map((draft) => draft.uid));
      cursor = page.pagination.next_cursor;
      if (cursor === null) expect(page.pagination.has_more).toBe(false);
    }
    expect(seen).toEqual([...uids].reverse());
    expect((await list('')).pagination).toMatchObject({ limit: 25, has_more: false });
  });

  it('filters by status, as derived from the delivery', async () => {
    const { client, save, list } = await organization('status');
    const plain = await save();
    const scheduled = await save({ planned_send_at: '2099-01-01T00:00:00Z' });
    const ready = { to: ['a@example.com'], subject: 'Hi' };
    const sending = await readDraft(await client.send((await save(ready)).uid));
    const sent = await readDraft(await client.send((await save(ready)).uid));
    await finishDelivery(database.db, sent.send_id!, { providerMessageId: 'p-1' });

    const uidsOf = async (status: string) =>
      (await list(`?status=${status}`)).data.map((draft) => draft.uid);
    expect(await uidsOf('draft')).toEqual([plain.uid]);
    expect(await uidsOf('scheduled')).toEqual([scheduled.uid]);
    expect(await uidsOf('sending')).toEqual([sending.uid]);
    expect(await uidsOf('sent')).toEqual([sent.uid]);
    expect(await uidsOf('failed')).toEqual([]);
    expect((await list('?status=sent')).data[0]).toMatchObject({
      status: 'sent',
      provider_message_id: 'p-1',
    });
  });

  it('filters by context_type and context_id, and pages within the filter', async () => {
    const { save, list } = await organization('context');
    const invoice = crypto.randomUUID();
    const other = crypto.randomUUID();
    const a = await save({ context_type: 'invoice', context_id: invoice });
    const b = await save({ context_type: 'invoice', context_id: invoice });
    const c = await save({ context_type: 'invoice', context_id: other });
    await save({ context_type: 'order', context_id: invoice });
    await save();

    const both = await list(`?context_type=invoice&context_id=${invoice}&limit=1`);
    expect(both.data.map((draft) => draft.uid)).toEqual([b.uid]);
    const next = await list(
      `?context_type=invoice&context_id=${invoice}&limit=1&cursor=${both.pagination.next_cursor}`,
    );
    expect(next.data.map((draft) => draft.uid)).toEqual([a.uid]);
    expect(next.pagination.has_more).toBe(false);
    expect((await list('?context_type=invoice')).data.map((draft) => draft.uid)).toEqual([
      c.uid,
      b.uid,
      a.uid,
    ]);
  });

  it('refuses a cursor from another listing, a garbled one, and bad filters', async () => {
    const { client, save, list } = await organization('cursors');
    await save();
    await save();
    const cursor = (await list('?limit=1')).pagination.next_cursor;
    const mismatch = await client.list(`?limit=1&status=draft&cursor=${cursor}`);
    expect(mismatch.status).toBe(400);
    expect((await readError(mismatch)).error.details).toMatchObject({
      issues: [{ location: 'query', path: 'cursor', code: 'cursor_mismatch' }],
    });
    const garbled = await client.list('?cursor=bm90LWEtY3Vyc29y');
    expect((await readError(garbled)).error.details).toMatchObject({
      issues: [{ path: 'cursor', code: 'invalid_cursor' }],
    });
    const bad = await client.list('?status=lost&context_id=nope&limit=0&extra=1');
    expect(bad.status).toBe(400);
    const issues = ((await readError(bad)).error.details?.issues ?? []) as { path: string }[];
    expect(issues.map((issue) => issue.path).sort()).toEqual(['', 'context_id', 'limit', 'status']);
  });
});
