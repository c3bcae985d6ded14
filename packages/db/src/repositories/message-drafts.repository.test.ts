import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CredentialsCipher, SANDBOX_RATE_LIMIT } from '@outbound/domain';
import { createTestDatabase, type TestDatabase } from '@outbound/test/harness';
import {
  deleteMessageDraft,
  findMessageDraft,
  findMessageDraftSender,
  insertMessageDraft,
  listMessageDrafts,
  notifyMessageDraftReady,
  type NewMessageDraft,
} from './message-drafts.repository.ts';
import { createOrganization } from './organizations.repository.ts';
import { createSender, type CreateSenderOptions } from './senders.repository.ts';

const cipher = new CredentialsCipher(randomBytes(32).toString('base64'));
let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});

afterAll(async () => {
  await database.drop();
});

async function organization(name: string): Promise<string> {
  return (await createOrganization(database.db, name)).id;
}

async function sender(
  organizationId: string,
  options: Partial<CreateSenderOptions> & Pick<CreateSenderOptions, 'channel'>,
): Promise<string> {
  const created = await createSender(database.db, cipher, {
    organizationId,
    provider: 'sandbox',
    name: options.channel,
    rateLimit: SANDBOX_RATE_LIMIT,
    ...options,
  });
  return created.id;
}

function draft(organizationId: string, senderId: string, subject = 'Hi'): NewMessageDraft {
  return {
    organizationId,
    modality: 'email',
    senderId,
    subject,
    bodyHtml: null,
    recipientName: null,
    recipientEmail: 'a@example.com',
    recipientPhoneNumber: null,
    ccEmails: [],
    bccEmails: [],
    folder: 'drafts',
  };
}

describe('findMessageDraftSender', () => {
  it('picks the oldest WORKING sending sender of the modality’s channel', async () => {
    const org = await organization('senders');
    expect(await findMessageDraftSender(database.db, org, 'email')).toBeUndefined();
    expect(await findMessageDraftSender(database.db, org, 'text')).toBeUndefined();

    await sender(org, { channel: 'whatsapp' });
    await sender(org, { channel: 'email', address: null });
    await sender(org, { channel: 'email', address: 'stopped@x.example', status: 'STOPPED' });
    await sender(org, { channel: 'email', address: 'failed@x.example', status: 'FAILED' });
    await sender(org, { channel: 'email', address: 'in@x.example', role: 'receiving' });
    await sender(org, { channel: 'sms', status: 'STOPPED' });
    expect(await findMessageDraftSender(database.db, org, 'email')).toBeUndefined();
    expect(await findMessageDraftSender(database.db, org, 'text')).toBeUndefined();

    const first = await sender(org, { channel: 'email', address: 'one@x.example' });
    await sender(org, { channel: 'email', address: 'two@x.example' });
    const sms = await sender(org, { channel: 'sms' });
    expect(await findMessageDraftSender(database.db, org, 'email')).toEqual({
      id: first,
      address: 'one@x.example',
    });
    expect(await findMessageDraftSender(database.db, org, 'text')).toMatchObject({ id: sms });

    const other = await organization('senders, other');
    expect(await findMessageDraftSender(database.db, other, 'email')).toBeUndefined();
  });
});

describe('message drafts', () => {
  it('stores a draft and reads it back with exact times, only in its organization', async () => {
    const org = await organization('store');
    const senderId = await sender(org, { channel: 'email', address: 'me@x.example' });
    const row = await insertMessageDraft(database.db, {
      ...draft(org, senderId),
      ccEmails: ['c@example.com'],
      folder: 'sales-follow-up',
    });
    const found = await findMessageDraft(database.db, org, row.id);
    expect(found).toEqual({
      id: row.id,
      organization_id: org,
      modality: 'email',
      sender_id: senderId,
      agent_id: null,
      subject: 'Hi',
      body_html: null,
      recipient_name: null,
      recipient_email: 'a@example.com',
      recipient_phone_number: null,
      cc_emails: ['c@example.com'],
      bcc_emails: [],
      folder: 'sales-follow-up',
      status: 'draft',
      send_id: null,
      conversation_id: null,
      scheduled_send_at: null,
      created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/) as string,
    });
    expect(Date.parse(found!.created_at)).toBe(row.created_at.getTime());

    const stranger = await organization('store, stranger');
    expect(await findMessageDraft(database.db, stranger, row.id)).toBeUndefined();
    expect(await deleteMessageDraft(database.db, stranger, row.id)).toBe(false);
    expect(await deleteMessageDraft(database.db, org, row.id)).toBe(true);
    expect(await findMessageDraft(database.db, org, row.id)).toBeUndefined();
  });

  it('records a ready-for-review notification and event', async () => {
    const org = await organization('notify');
    const senderId = await sender(org, { channel: 'email', address: 'me@x.example' });
    const row = await insertMessageDraft(database.db, draft(org, senderId, 'Review me'));
    const { notificationId, eventId } = await notifyMessageDraftReady(database.db, row, {
      draft_id: 'ob_opaque',
    });
    const notification = await database.db
      .selectFrom('notifications')
      .selectAll()
      .where('id', '=', notificationId)
      .executeTakeFirstOrThrow();
    expect(notification).toMatchObject({
      organization_id: org,
      type: 'draft.ready_for_review',
      read_at: null,
      payload: {
        message_draft_id: row.id,
        draft_id: 'ob_opaque',
        modality: 'email',
        folder: 'drafts',
        subject: 'Review me',
      },
    });
    const event = await database.db
      .selectFrom('events')
      .selectAll()
      .where('id', '=', eventId)
      .executeTakeFirstOrThrow();
    expect(event).toMatchObject({
      organization_id: org,
      type: 'draft.ready_for_review',
      payload: { ...notification.payload, notification_id: notificationId },
    });
  });

  it('lists newest first with ties broken by id, within the created_at bounds', async () => {
    const org = await organization('list');
    const senderId = await sender(org, { channel: 'email', address: 'me@x.example' });
    const ids: string[] = [];
    for (let i = 0; i < 5; i += 1) {
      ids.push((await insertMessageDraft(database.db, draft(org, senderId, `#${i}`))).id);
    }
    // Two share one instant; the rest are a day apart.
    const at = ['2026-05-01T00:00:00Z', '2026-05-02T00:00:00Z', '2026-05-02T00:00:00Z'];
    at.push('2026-05-03T12:00:00.000001Z', '2026-05-04T00:00:00Z');
    for (const [index, createdAt] of at.entries()) {
      // `created_at` is insert-only in the Database types; a test may still move it.
      await sql`UPDATE message_drafts SET created_at = ${createdAt} WHERE id = ${ids[index]!}`.execute(
        database.db,
      );
    }
    const page = async (options: Partial<Parameters<typeof listMessageDrafts>[1]> = {}) =>
      listMessageDrafts(database.db, { organizationId: org, limit: 10, ...options });

    const all = (await page()).drafts.map((row) => row.id);
    expect(all).toEqual([ids[4], ids[3], ...[ids[1]!, ids[2]!].sort().reverse(), ids[0]]);

    const bounded = await page({
      createdFrom: '2026-05-02T00:00:00Z',
      createdTo: '2026-05-03T12:00:00.000001Z',
    });
    expect(bounded.drafts.map((row) => row.id)).toEqual(all.slice(1, 4));

    const first = await page({ limit: 2 });
    expect(first.next).toEqual({ createdAt: '2026-05-03T12:00:00.000001Z', id: all[1] });
    expect(first.drafts.map((row) => row.id)).toEqual(all.slice(0, 2));
    const second = await page({ limit: 2, after: first.next! });
    expect(second.drafts.map((row) => row.id)).toEqual(all.slice(2, 4));
    const third = await page({ limit: 2, after: second.next! });
    expect(third.drafts.map((row) => row.id)).toEqual(all.slice(4));
    expect(third.next).toBeUndefined();
  });
});
