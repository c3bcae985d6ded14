import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CredentialsCipher, SANDBOX_RATE_LIMIT } from '@outbound/domain';
import { createTestDatabase, type TestDatabase } from '@outbound/test/harness';
import {
  claimDueEmailDrafts,
  dispatchEmailDraft,
  markEmailDraftFailed,
} from './email-draft-dispatch.repository.ts';
import { findEmailDraft } from './email-draft-reads.repository.ts';
import { createEmailDraft, lockEmailDraft, type NewEmailDraft } from './email-drafts.repository.ts';
import { emailSendContentSchema } from './email-send-content.ts';
import { createOrganization } from './organizations.repository.ts';
import { createSender } from './senders.repository.ts';

const HOUR = 3_600_000;

describe('email draft dispatch repository', () => {
  let database: TestDatabase;
  const cipher = new CredentialsCipher(randomBytes(32).toString('base64'));
  let organizationId: string;
  let accountId: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    organizationId = (await createOrganization(database.db, 'email drafts')).id;
    accountId = (
      await createSender(database.db, cipher, {
        organizationId,
        channel: 'email',
        provider: 'sandbox',
        name: 'mailbox',
        address: 'sender@acme.example',
        rateLimit: SANDBOX_RATE_LIMIT,
      })
    ).id;
  });
  afterAll(async () => {
    await database.drop();
  });

  function draft(overrides: Partial<NewEmailDraft> = {}): Promise<string> {
    return createEmailDraft(database.db, organizationId, {
      fromAccountId: accountId,
      to: ['customer@example.com'],
      subject: 'Hello',
      ...overrides,
    });
  }

  /** `count` drafts due an hour ago, each a second apart. */
  async function dueDrafts(count: number): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < count; i += 1) {
      ids.push(await draft({ plannedSendAt: new Date(Date.now() - HOUR + i * 1_000) }));
    }
    return ids;
  }

  async function sendsOf(draftIds: readonly string[]): Promise<number> {
    const row = await database.db
      .selectFrom('email_drafts')
      .select((eb) => eb.fn.count<string>('send_id').as('n'))
      .where('id', 'in', [...draftIds])
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  it('makes one email send with one delivery to the first To address, and links the draft', async () => {
    const id = await draft({
      to: ['first@example.com', 'second@example.com'],
      cc: ['cc@example.com'],
      bcc: ['bcc@example.com'],
      bodyText: 'Hi',
      bodyHtml: '',
      attachments: [{ filename: 'a.txt', contentType: 'text/plain', data: Buffer.from('A') }],
    });
    const plannedAt = new Date('2030-01-02T03:04:05.000Z');
    const result = await database.db.transaction().execute(async (trx) => {
      const locked = await lockEmailDraft(trx, organizationId, id);
      return dispatchEmailDraft(trx, locked!, { plannedAt, actorUserId: 'user-1' });
    });
    if (result.outcome !== 'dispatched') throw new Error('expected a send');
    expect(result.deliveries).toHaveLength(1);
    expect(result.deliveries[0]).toMatchObject({
      recipient: 'first@example.com',
      status: 'queued',
      sender_id: accountId,
      due_at: plannedAt,
    });
    const send = await database.db
      .selectFrom('sends')
      .selectAll()
      .where('id', '=', result.sendId)
      .executeTakeFirstOrThrow();
    expect(send).toMatchObject({
      channel: 'email',
      origin: 'email_draft',
      actor_user_id: 'user-1',
    });
    const attachment = await database.db
      .selectFrom('email_draft_attachments')
      .select('id')
      .where('draft_id', '=', id)
      .executeTakeFirstOrThrow();
    expect(emailSendContentSchema.parse(send.content)).toEqual({
      draft_id: id,
      from: 'sender@acme.example',
      to: ['first@example.com', 'second@example.com'],
      cc: ['cc@example.com'],
      bcc: ['bcc@example.com'],
      subject: 'Hello',
      text: 'Hi',
      html: null,
      attachment_ids: [attachment.id],
    });
    expect(await findEmailDraft(database.db, organizationId, id)).toMatchObject({
      send_id: result.sendId,
      status: 'sending',
    });
  });

  it('makes nothing for a draft without To address or content, and says what is missing', async () => {
    const id = await draft({ to: [], bcc: ['hidden@example.com'], subject: '' });
    const result = await database.db.transaction().execute(async (trx) => {
      const locked = await lockEmailDraft(trx, organizationId, id);
      return dispatchEmailDraft(trx, locked!, { plannedAt: new Date() });
    });
    expect(result).toEqual({
      outcome: 'unsendable',
      problems: [
        { field: 'to', message: 'to has no address; Cc and Bcc alone cannot be sent' },
        {
          field: 'subject_or_body',
          message: 'the draft has neither a subject nor a body (body_text or body_html)',
        },
      ],
    });
    expect(await sendsOf([id])).toBe(0);
  });

  it('gives two concurrent claims disjoint drafts', async () => {
    const ids = await dueDrafts(10);
    const [first, second] = await database.db.transaction().execute(async (a) => {
      const mine = await claimDueEmailDrafts(a, { now: new Date(), limit: 6 });
      // While the first claim still holds its locks, a second one skips them.
      const theirs = await database.db
        .transaction()
        .execute((b) => claimDueEmailDrafts(b, { now: new Date(), limit: 10 }));
      return [mine.map((row) => row.id), theirs.map((row) => row.id)];
    });
    expect(first).toHaveLength(6);
    expect(second).toHaveLength(4);
    expect(first.filter((id) => second.includes(id))).toEqual([]);
    expect([...first, ...second].sort()).toEqual([...ids].sort());
    // Oldest planned first.
    expect(first).toEqual(ids.slice(0, 6));
    // Claims alone change nothing: these drafts are still due, so they go.
    await database.db.deleteFrom('email_drafts').where('id', 'in', ids).execute();
  });

  it('dispatches each due draft once however many claimers run at the same time', async () => {
    const ids = await dueDrafts(12);
    const claimer = () =>
      database.db.transaction().execute(async (trx) => {
        const due = await claimDueEmailDrafts(trx, { now: new Date(), limit: 4 });
        for (const row of due) {
          await dispatchEmailDraft(trx, row, { plannedAt: row.planned_send_at! });
        }
        return due.length;
      });
    const claimed = await Promise.all([claimer(), claimer(), claimer(), claimer()]);
    const again = await Promise.all([claimer(), claimer()]);
    expect(claimed.reduce((sum, n) => sum + n, 0) + again.reduce((sum, n) => sum + n, 0)).toBe(12);
    expect(await sendsOf(ids)).toBe(12);
    const sends = await database.db
      .selectFrom('sends')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where(
        'id',
        'in',
        database.db.selectFrom('email_drafts').select('send_id').where('id', 'in', ids),
      )
      .executeTakeFirstOrThrow();
    expect(Number(sends.n)).toBe(12);
    expect(await database.db.transaction().execute(claimer)).toBe(0);
  });

  it('does not claim drafts not yet due, without a planned time, sent or failed', async () => {
    const future = await draft({ plannedSendAt: new Date(Date.now() + HOUR) });
    const unplanned = await draft();
    const [failed] = await dueDrafts(1);
    await database.db.transaction().execute(async (trx) => {
      const locked = await lockEmailDraft(trx, organizationId, failed!);
      await markEmailDraftFailed(trx, locked!, { code: 'not_sendable', message: 'why' });
    });
    const claimed = await database.db
      .transaction()
      .execute((trx) => claimDueEmailDrafts(trx, { now: new Date(), limit: 100 }));
    expect(claimed.map((row) => row.id)).not.toContain(future);
    expect(claimed.map((row) => row.id)).not.toContain(unplanned);
    expect(claimed.map((row) => row.id)).not.toContain(failed);
    expect(await findEmailDraft(database.db, organizationId, failed!)).toMatchObject({
      status: 'failed',
      error: { code: 'not_sendable', message: 'why' },
      send_id: null,
    });
  });
});
