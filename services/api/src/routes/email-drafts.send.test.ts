import { emailSendContentSchema } from '@outbound/db';
import { createTestDatabase, createTestRedis, type TestDatabase } from '@outbound/test/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  deliveryOfSend,
  emailDraftRowCounts,
  emailDraftsClient,
  finishDelivery,
  readDraft,
  seedEmailAccount,
  type EmailDraftBody,
} from '../test-support/email-drafts.ts';
import { readError } from '../test-support/error-body.ts';
import { seedOrganization, type SeededOrganization } from '../test-support/seed.ts';
import { startTestApp, type TestApp } from '../test-support/test-app.ts';

const redis = createTestRedis();
let database: TestDatabase;
let api: TestApp;
let acme: SeededOrganization;
let client: ReturnType<typeof emailDraftsClient>;
let accountId: string;

beforeAll(async () => {
  database = await createTestDatabase();
  api = await startTestApp(database, redis);
  acme = await seedOrganization(database.db, 'acme');
  client = emailDraftsClient(api.url, acme);
  accountId = await seedEmailAccount(database.db, acme.organizationId, 'sender@mycompany.com');
});

afterAll(async () => {
  await api.stop();
  await database.drop();
  await redis.clear();
});

async function draft(fields: Record<string, unknown>): Promise<EmailDraftBody> {
  const response = await client.save({ from_account_id: accountId, ...fields });
  expect(response.status).toBe(201);
  return readDraft(response);
}

async function sentNow(uid: string): Promise<EmailDraftBody> {
  const response = await client.send(uid);
  expect(response.status).toBe(202);
  return readDraft(response);
}

const ready = {
  to: ['customer@example.com', 'second@example.com'],
  cc: ['cc@example.com'],
  bcc: ['bcc@example.com'],
  subject: 'Follow-up on our conversation',
  body_text: 'Hi, just wanted to check in...',
};

describe('POST /api/email/drafts/{uid}/send', () => {
  it('makes one send with one delivery carrying To, Cc and Bcc, and enqueues its job', async () => {
    const saved = await draft({
      ...ready,
      attachments: [{ filename: 'a.txt', content_type: 'text/plain', data_base64: 'YQ==' }],
    });
    const before = await emailDraftRowCounts(database.db);
    const answered = await sentNow(saved.uid);

    expect(answered).toMatchObject({ uid: saved.uid, status: 'sending', error: null });
    const sendId = answered.send_id!;
    expect(await emailDraftRowCounts(database.db)).toEqual({
      ...before,
      sends: before.sends! + 1,
      deliveries: before.deliveries! + 1,
    });
    const send = await database.db
      .selectFrom('sends')
      .selectAll()
      .where('id', '=', sendId)
      .executeTakeFirstOrThrow();
    expect(send).toMatchObject({
      organization_id: acme.organizationId,
      sender_id: accountId,
      channel: 'email',
      origin: 'email_draft',
      status: 'queued',
      actor_user_id: 'user-acme',
    });
    expect(emailSendContentSchema.parse(send.content)).toEqual({
      draft_id: saved.uid,
      from: 'sender@mycompany.com',
      to: ready.to,
      cc: ready.cc,
      bcc: ready.bcc,
      subject: ready.subject,
      text: ready.body_text,
      html: null,
      attachment_ids: saved.attachments.map((file) => file.id),
    });
    const delivery = await deliveryOfSend(database.db, sendId);
    expect(delivery).toMatchObject({ recipient: 'customer@example.com', status: 'queued' });

    const job = await api.queues.deliveries.getJob(delivery.id);
    expect(job?.name).toBe('deliver');
    expect(job?.data).toEqual({ delivery_id: delivery.id, organization_id: acme.organizationId });

    expect(await readDraft(await client.get(saved.uid))).toEqual(answered);
  });

  it('sends a scheduled draft now, too', async () => {
    const saved = await draft({ ...ready, planned_send_at: '2099-01-01T00:00:00Z' });
    expect(saved.status).toBe('scheduled');
    const answered = await sentNow(saved.uid);
    expect(answered).toMatchObject({
      status: 'sending',
      planned_send_at: '2099-01-01T00:00:00.000Z',
    });
  });

  it('answers 422 naming what is missing, and writes nothing', async () => {
    const cases: [Record<string, unknown>, string[]][] = [
      [{}, ['to', 'subject_or_body']],
      [{ cc: ['cc@example.com'], subject: 'x' }, ['to']],
      [{ to: ['a@example.com'], subject: '', body_html: '' }, ['subject_or_body']],
    ];
    for (const [fields, missing] of cases) {
      const saved = await draft(fields);
      const before = await emailDraftRowCounts(database.db);
      const response = await client.send(saved.uid);
      const error = await readError(response);
      expect({ status: response.status, code: error.error.code }).toEqual({
        status: 422,
        code: 'unprocessable',
      });
      expect(error.error.details).toEqual({ uid: saved.uid, missing });
      expect(error.error.message).toMatch(new RegExp(`^email draft ${saved.uid} cannot be sent: `));
      expect(await emailDraftRowCounts(database.db)).toEqual(before);
      expect(await readDraft(await client.get(saved.uid))).toEqual(saved);
    }
  });

  it('follows the delivery: sent with the provider id, or failed with its error', async () => {
    const good = await sentNow((await draft(ready)).uid);
    await finishDelivery(database.db, good.send_id!, { providerMessageId: '<abc@mail.example>' });
    expect(await readDraft(await client.get(good.uid))).toMatchObject({
      status: 'sent',
      provider_message_id: '<abc@mail.example>',
      error: null,
    });

    const bad = await sentNow((await draft(ready)).uid);
    await finishDelivery(database.db, bad.send_id!, {
      errorCode: 'invalid_recipient',
      errorMessage: 'mailbox unavailable',
    });
    expect(await readDraft(await client.get(bad.uid))).toMatchObject({
      status: 'failed',
      provider_message_id: null,
      error: { code: 'invalid_recipient', message: 'mailbox unavailable' },
    });
  });
});

describe('a dispatched draft is frozen', () => {
  it('refuses updates and a second send with 409 saying why, while sending and once sent', async () => {
    const sending = await sentNow((await draft(ready)).uid);
    const sent = await sentNow((await draft(ready)).uid);
    await finishDelivery(database.db, sent.send_id!, { providerMessageId: 'm-1' });

    for (const [dispatched, status] of [
      [sending, 'sending'],
      [sent, 'sent'],
    ] as const) {
      const before = await emailDraftRowCounts(database.db);
      const update = await client.save({ uid: dispatched.uid, subject: 'Too late' });
      const error = await readError(update);
      expect({ status: update.status, code: error.error.code }).toEqual({
        status: 409,
        code: 'conflict',
      });
      expect(error.error.message).toBe(
        `email draft ${dispatched.uid} cannot be changed: it was dispatched as send ` +
          `${dispatched.send_id}, which is ${status}; only a draft not yet dispatched can be`,
      );
      expect(error.error.details).toEqual({
        uid: dispatched.uid,
        status,
        send_id: dispatched.send_id,
      });
      const again = await client.send(dispatched.uid);
      expect(again.status).toBe(409);
      expect((await readError(again)).error.message).toMatch(/cannot be sent again/);
      expect(await emailDraftRowCounts(database.db)).toEqual(before);
      expect((await readDraft(await client.get(dispatched.uid))).subject).toBe(ready.subject);
    }
  });

  it('can be deleted once its delivery finished, not while sending', async () => {
    const sending = await sentNow((await draft(ready)).uid);
    const refused = await client.remove(sending.uid);
    expect(refused.status).toBe(409);
    expect((await readError(refused)).error.message).toMatch(/is being sent/);
    expect((await client.get(sending.uid)).status).toBe(200);

    await finishDelivery(database.db, sending.send_id!, { providerMessageId: 'm-2' });
    expect((await client.remove(sending.uid)).status).toBe(204);
    expect((await client.get(sending.uid)).status).toBe(404);
    // The send and its delivery are history, and stay.
    expect((await deliveryOfSend(database.db, sending.send_id!)).status).toBe('sent');
  });
});
