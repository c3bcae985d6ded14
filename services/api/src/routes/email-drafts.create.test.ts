import { createTestDatabase, createTestRedis, type TestDatabase } from '@outbound/test/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  emailDraftRowCounts,
  emailDraftsClient,
  readDraft,
  seedEmailAccount,
} from '../test-support/email-drafts.ts';
import { readError } from '../test-support/error-body.ts';
import { seedOrganization, seedSession, type SeededOrganization } from '../test-support/seed.ts';
import { startTestApp, type TestApp } from '../test-support/test-app.ts';

const redis = createTestRedis();
let database: TestDatabase;
let api: TestApp;
let acme: SeededOrganization;
let client: ReturnType<typeof emailDraftsClient>;
let accountId: string;
let secondAccountId: string;

beforeAll(async () => {
  database = await createTestDatabase();
  api = await startTestApp(database, redis);
  acme = await seedOrganization(database.db, 'acme');
  client = emailDraftsClient(api.url, acme);
  accountId = await seedEmailAccount(database.db, acme.organizationId, 'sender@mycompany.com');
  secondAccountId = await seedEmailAccount(database.db, acme.organizationId, 'sales@mycompany.com');
});

afterAll(async () => {
  await api.stop();
  await database.drop();
  await redis.clear();
});

async function created(body: Record<string, unknown>) {
  const response = await client.save(body);
  expect(response.status).toBe(201);
  return readDraft(response);
}

describe('POST /api/email/drafts: the reference examples', () => {
  it('creates a draft from only from_account_id, with empty lists and nulls', async () => {
    const draft = await created({ from_account_id: accountId });
    expect(draft).toEqual({
      uid: draft.uid,
      from_account_id: accountId,
      from_email: 'sender@mycompany.com',
      to: [],
      cc: [],
      bcc: [],
      subject: null,
      body_text: null,
      body_html: null,
      context_type: null,
      context_id: null,
      planned_send_at: null,
      status: 'draft',
      created_at: draft.created_at,
      updated_at: draft.created_at,
      attachments: [],
      send_id: null,
      provider_message_id: null,
      error: null,
    });
    expect(Date.parse(draft.created_at)).toBeGreaterThan(Date.now() - 60_000);
    const read = await client.get(draft.uid);
    expect(read.status).toBe(200);
    expect(await readDraft(read)).toEqual(draft);
  });

  it('creates a draft with recipients and a body', async () => {
    const draft = await created({
      from_account_id: accountId,
      to: ['customer@example.com'],
      subject: 'Follow-up on our conversation',
      body_text: 'Hi, just wanted to check in...',
    });
    expect(draft).toMatchObject({
      from_email: 'sender@mycompany.com',
      to: ['customer@example.com'],
      cc: [],
      bcc: [],
      subject: 'Follow-up on our conversation',
      body_text: 'Hi, just wanted to check in...',
      body_html: null,
      status: 'draft',
    });
  });

  it('updates only the given fields of a draft by uid, answering 200', async () => {
    const draft = await created({
      from_account_id: accountId,
      to: ['customer@example.com'],
      cc: ['boss@example.com'],
      subject: 'Follow-up on our conversation',
      body_text: 'Hi, just wanted to check in...',
      body_html: '<p>Hi</p>',
    });
    const response = await client.save({
      uid: draft.uid,
      subject: 'Updated subject',
      body_text: 'Updated body',
    });
    expect(response.status).toBe(200);
    const updated = await readDraft(response);
    expect(updated).toEqual({
      ...draft,
      subject: 'Updated subject',
      body_text: 'Updated body',
      updated_at: updated.updated_at,
    });
    expect(Date.parse(updated.updated_at)).toBeGreaterThan(Date.parse(draft.updated_at));

    const cleared = await readDraft(
      await client.save({
        uid: draft.uid,
        body_html: null,
        cc: [],
        from_account_id: secondAccountId,
      }),
    );
    expect(cleared).toMatchObject({
      from_account_id: secondAccountId,
      from_email: 'sales@mycompany.com',
      cc: [],
      body_html: null,
      to: ['customer@example.com'],
      subject: 'Updated subject',
    });
  });

  it('schedules with planned_send_at, moves it, and unschedules with null', async () => {
    const draft = await created({
      from_account_id: accountId,
      to: ['customer@example.com'],
      subject: 'Follow-up on our conversation',
      body_text: 'Hi, just wanted to check in...',
      planned_send_at: '2024-03-26T09:00:00Z',
    });
    expect(draft).toMatchObject({
      planned_send_at: '2024-03-26T09:00:00.000Z',
      status: 'scheduled',
    });
    const moved = await readDraft(
      await client.save({ uid: draft.uid, planned_send_at: '2031-05-01T10:30:00+02:00' }),
    );
    expect(moved).toMatchObject({
      planned_send_at: '2031-05-01T08:30:00.000Z',
      status: 'scheduled',
    });
    const cleared = await readDraft(await client.save({ uid: draft.uid, planned_send_at: null }));
    expect(cleared).toMatchObject({ planned_send_at: null, status: 'draft' });

    // Each planned time asked the poller to run then, once (saving again adds no second job).
    await client.save({ uid: draft.uid, planned_send_at: '2031-05-01T08:30:00.000Z' });
    const wakeUps = (await api.queues.scheduler.getDelayed()).filter((job) =>
      job.id?.startsWith(`wake-email-draft-${draft.uid}-`),
    );
    expect(wakeUps.map((job) => job.id)).toEqual([
      `wake-email-draft-${draft.uid}-${Date.parse('2031-05-01T08:30:00Z')}`,
    ]);
    expect(wakeUps[0]!.name).toBe('poll-due');
  });

  it('links a draft to a context', async () => {
    const contextId = crypto.randomUUID();
    const draft = await created({
      from_account_id: accountId,
      context_type: 'invoice',
      context_id: contextId,
      subject: 'Regarding Invoice {invoice_number}',
    });
    expect(draft).toMatchObject({
      context_type: 'invoice',
      context_id: contextId,
      subject: 'Regarding Invoice {invoice_number}',
      status: 'draft',
    });
  });

  it('keeps body_html exactly as given and answers attachments without their bytes', async () => {
    const html =
      '<html><body><p style="color:red">Hi &amp; <b>bye</b></p><script>x()</script></body></html>';
    const draft = await created({
      from_account_id: accountId,
      body_html: html,
      attachments: [
        { filename: 'invoice.pdf', content_type: 'application/pdf', data_base64: 'JVBERi0xLjQK' },
        { filename: 'empty.txt', content_type: 'text/plain; charset=utf-8', data_base64: '' },
      ],
    });
    expect(draft.body_html).toBe(html);
    expect(draft.attachments.map(({ id: _, ...file }) => file)).toEqual([
      { filename: 'invoice.pdf', content_type: 'application/pdf', size_bytes: 9 },
      { filename: 'empty.txt', content_type: 'text/plain; charset=utf-8', size_bytes: 0 },
    ]);
    const stored = await database.db
      .selectFrom('email_draft_attachments')
      .select('data')
      .where('draft_id', '=', draft.uid)
      .orderBy('position')
      .execute();
    expect(stored.map((row) => row.data.toString())).toEqual(['%PDF-1.4\n', '']);
  });
});

describe('POST /api/email/drafts: the sending account', () => {
  async function refusedAccount(fromAccountId: string, status: number, code: string) {
    const before = await emailDraftRowCounts(database.db);
    const response = await client.save({ from_account_id: fromAccountId, subject: 'x' });
    const body = await readError(response);
    expect({ status: response.status, code: body.error.code }).toEqual({ status, code });
    expect(await emailDraftRowCounts(database.db)).toEqual(before);
    return body.error;
  }

  it('answers 404 for an unknown account or another organization’s', async () => {
    const other = await seedOrganization(database.db, 'other');
    const theirs = await seedEmailAccount(database.db, other.organizationId, 'them@other.example');
    for (const id of [crypto.randomUUID(), theirs]) {
      const error = await refusedAccount(id, 404, 'not_found');
      expect(error.message).toBe(`email account ${id} not found`);
    }
  });

  it('answers 422 for a WhatsApp session, a receiving account or one without address', async () => {
    const session = await seedSession(database.db, acme.organizationId);
    const inbox = await seedEmailAccount(database.db, acme.organizationId, 'in@mycompany.com', {
      role: 'receiving',
    });
    const nameless = await seedEmailAccount(database.db, acme.organizationId, null);
    expect((await refusedAccount(session, 422, 'unprocessable')).message).toMatch(
      /is a whatsapp sender, not an email account/,
    );
    expect((await refusedAccount(inbox, 422, 'unprocessable')).message).toMatch(/receiving/);
    expect((await refusedAccount(nameless, 422, 'unprocessable')).message).toMatch(/no address/);

    const draft = await created({ from_account_id: accountId });
    const response = await client.save({ uid: draft.uid, from_account_id: session });
    expect(response.status).toBe(422);
    expect((await readDraft(await client.get(draft.uid))).from_account_id).toBe(accountId);
  });
});
