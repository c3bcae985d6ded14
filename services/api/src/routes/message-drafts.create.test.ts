import { messageDraftSendContentSchema } from '@outbound/db';
import { decodeOpaqueId } from '@outbound/domain';
import { createTestDatabase, createTestRedis, type TestDatabase } from '@outbound/test/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readError } from '../test-support/error-body.ts';
import {
  messageDraftRowCounts,
  messageDraftsClient,
  readCreated,
  readMessageDraft,
  REFERENCE_CREATE_REQUEST,
  seedMessageSender,
} from '../test-support/message-drafts.ts';
import { seedOrganization, type SeededOrganization } from '../test-support/seed.ts';
import { startTestApp, type TestApp } from '../test-support/test-app.ts';

const redis = createTestRedis();
let database: TestDatabase;
let api: TestApp;
let acme: SeededOrganization;
let client: ReturnType<typeof messageDraftsClient>;
let emailSenderId: string;
let smsSenderId: string;

beforeAll(async () => {
  database = await createTestDatabase();
  api = await startTestApp(database, redis);
  acme = await seedOrganization(database.db, 'acme');
  client = messageDraftsClient(api.url, acme);
  emailSenderId = await seedMessageSender(database.db, acme.organizationId, 'email');
  smsSenderId = await seedMessageSender(database.db, acme.organizationId, 'sms');
});

afterAll(async () => {
  await api.stop();
  await database.drop();
  await redis.clear();
});

/** The draft's database id, from its encoded id. */
function uuidOf(draftId: string): string {
  const decoded = decodeOpaqueId(draftId);
  expect(decoded?.kind).toBe('message_draft');
  return decoded!.id;
}

function draftRow(draftId: string) {
  return database.db
    .selectFrom('message_drafts')
    .selectAll()
    .where('id', '=', uuidOf(draftId))
    .executeTakeFirstOrThrow();
}

const ISO_MICROS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;

describe('POST …/message-drafts: the reference examples', () => {
  it('saves the reference request for review, with a notification', async () => {
    const before = await messageDraftRowCounts(database.db);
    const created = await readCreated(await client.create(REFERENCE_CREATE_REQUEST));
    expect(created).toEqual({
      draft_id: expect.stringMatching(/^ob_/) as string,
      scheduled_to_send: false,
      scheduled_send_at: null,
      folder: 'sales-follow-up',
    });

    const row = await draftRow(created.draft_id);
    expect(row).toMatchObject({
      organization_id: acme.organizationId,
      modality: 'email',
      sender_id: emailSenderId,
      status: 'draft',
      send_id: null,
      recipient_phone_number: '+15138675309',
      folder: 'sales-follow-up',
    });
    expect(await messageDraftRowCounts(database.db)).toEqual({
      ...before,
      message_drafts: before.message_drafts + 1,
      notifications: before.notifications + 1,
      events: before.events + 1,
    });

    const detail = await readMessageDraft(await client.get(created.draft_id));
    expect(detail).toEqual({
      draft_id: created.draft_id,
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
      created_at: expect.stringMatching(ISO_MICROS) as string,
      status: 'draft',
    });
  });

  it('records a draft.ready_for_review notification and event for the organization', async () => {
    const created = await readCreated(await client.create(REFERENCE_CREATE_REQUEST));
    const id = uuidOf(created.draft_id);
    const notifications = (
      await database.db.selectFrom('notifications').selectAll().execute()
    ).filter((row) => row.payload.message_draft_id === id);
    expect(notifications).toHaveLength(1);
    expect(notifications[0]).toMatchObject({
      organization_id: acme.organizationId,
      type: 'draft.ready_for_review',
      read_at: null,
      payload: {
        draft_id: created.draft_id,
        message_draft_id: id,
        modality: 'email',
        folder: 'sales-follow-up',
        subject: 'Following up on your quote',
      },
    });
    const events = (
      await database.db
        .selectFrom('events')
        .select(['type', 'payload', 'organization_id'])
        .where('type', '=', 'draft.ready_for_review')
        .execute()
    ).filter((row) => row.payload.message_draft_id === id);
    expect(events).toEqual([
      {
        type: 'draft.ready_for_review',
        organization_id: acme.organizationId,
        payload: { ...notifications[0]!.payload, notification_id: notifications[0]!.id },
      },
    ]);
  });

  it('records no notification without add_notification', async () => {
    const before = await messageDraftRowCounts(database.db);
    await readCreated(
      await client.create({ ...REFERENCE_CREATE_REQUEST, add_notification: false }),
    );
    expect(await messageDraftRowCounts(database.db)).toEqual({
      ...before,
      message_drafts: before.message_drafts + 1,
    });
  });

  it('queues the draft at once with autosend_draft: one send, one delivery, one job', async () => {
    const before = await messageDraftRowCounts(database.db);
    const created = await readCreated(
      await client.create({
        ...REFERENCE_CREATE_REQUEST,
        autosend_draft: true,
        add_notification: false,
      }),
    );
    expect(created).toEqual({
      draft_id: created.draft_id,
      scheduled_to_send: true,
      scheduled_send_at: expect.stringMatching(ISO_MICROS) as string,
      folder: 'sales-follow-up',
    });
    expect(await messageDraftRowCounts(database.db)).toEqual({
      ...before,
      message_drafts: before.message_drafts + 1,
      sends: before.sends + 1,
      deliveries: before.deliveries + 1,
      events: before.events + 1,
    });

    const row = await draftRow(created.draft_id);
    expect(row).toMatchObject({ status: 'queued', conversation_id: null });
    const send = await database.db
      .selectFrom('sends')
      .selectAll()
      .where('id', '=', row.send_id!)
      .executeTakeFirstOrThrow();
    expect(send).toMatchObject({
      organization_id: acme.organizationId,
      sender_id: emailSenderId,
      channel: 'email',
      origin: 'message_draft',
      status: 'queued',
      actor_user_id: 'user-acme',
    });
    expect(send.planned_at.getTime()).toBe(Date.parse(created.scheduled_send_at!));
    expect(row.scheduled_send_at?.getTime()).toBe(send.planned_at.getTime());
    expect(messageDraftSendContentSchema.parse(send.content)).toEqual({
      kind: 'message_draft',
      message_draft_id: row.id,
      modality: 'email',
      from: 'sales@acme.example',
      to: 'diana.prince@example.com',
      to_name: 'Diana Prince',
      cc: ['steve.trevor@example.com'],
      bcc: [],
      subject: 'Following up on your quote',
      html: '<p>Hi Diana, checking in on the quote we sent yesterday.</p>',
    });

    const deliveries = await database.db
      .selectFrom('deliveries')
      .selectAll()
      .where('send_id', '=', send.id)
      .execute();
    expect(deliveries).toHaveLength(1);
    expect(deliveries[0]).toMatchObject({
      recipient: 'diana.prince@example.com',
      status: 'queued',
      sender_id: emailSenderId,
    });
    const job = await api.queues.deliveries.getJob(deliveries[0]!.id);
    expect(job?.name).toBe('deliver');
    expect(job?.data).toEqual({
      delivery_id: deliveries[0]!.id,
      organization_id: acme.organizationId,
    });

    const detail = await readMessageDraft(await client.get(created.draft_id));
    expect(detail).toMatchObject({
      status: 'queued',
      scheduled_send_at: created.scheduled_send_at,
    });
  });

  it('queues a text draft as an SMS to the E.164 number', async () => {
    const created = await readCreated(
      await client.create({
        modality: 'text',
        body_html: '<p>Your quote is ready.</p>',
        to_user_name: 'Diana Prince',
        to_phone_number: '(513) 867-5309',
        autosend_draft: true,
      }),
    );
    expect(created).toMatchObject({ scheduled_to_send: true, folder: 'drafts' });
    const row = await draftRow(created.draft_id);
    const send = await database.db
      .selectFrom('sends')
      .selectAll()
      .where('id', '=', row.send_id!)
      .executeTakeFirstOrThrow();
    expect(send).toMatchObject({ channel: 'sms', origin: 'message_draft', sender_id: smsSenderId });
    expect(messageDraftSendContentSchema.parse(send.content)).toMatchObject({
      modality: 'text',
      to: '+15138675309',
    });
    const delivery = await database.db
      .selectFrom('deliveries')
      .selectAll()
      .where('send_id', '=', send.id)
      .executeTakeFirstOrThrow();
    expect(delivery).toMatchObject({ recipient: '+15138675309', status: 'queued' });
    expect(await api.queues.deliveries.getJob(delivery.id)).toBeDefined();
  });
});

describe('POST …/message-drafts: fields', () => {
  it.each([
    ['513-867-5309', '+15138675309'],
    ['(513) 867-5309', '+15138675309'],
    ['5138675309', '+15138675309'],
    ['+1 513 867 5309', '+15138675309'],
    ['+44 20 7946 0958', '+442079460958'],
    ['+33 6 12 34 56 78', '+33612345678'],
  ])('normalises the phone number %s to %s', async (given, e164) => {
    const created = await readCreated(
      await client.create({ modality: 'text', subject: 'Hi', to_phone_number: given }),
    );
    expect((await draftRow(created.draft_id)).recipient_phone_number).toBe(e164);
    expect(
      (await readMessageDraft(await client.get(created.draft_id))).recipient_phone_number,
    ).toBe(e164);
  });

  it.each([
    ['Sales Follow-up', 'sales-follow-up'],
    ['  Café  Leads!! ', 'cafe-leads'],
    ['Q3_2026 / Renewals', 'q3-2026-renewals'],
    ['drafts', 'drafts'],
  ])('normalises the folder %j to %s', async (folder, normalised) => {
    const created = await readCreated(
      await client.create({ ...REFERENCE_CREATE_REQUEST, add_notification: false, folder }),
    );
    expect(created.folder).toBe(normalised);
  });

  it('files a draft without a folder (or with null) in drafts', async () => {
    const withoutFolder: Record<string, unknown> = { ...REFERENCE_CREATE_REQUEST };
    delete withoutFolder.folder;
    expect((await readCreated(await client.create(withoutFolder))).folder).toBe('drafts');
    expect(
      (await readCreated(await client.create({ ...withoutFolder, folder: null }))).folder,
    ).toBe('drafts');
  });

  it('takes a subject alone or a body alone', async () => {
    const base = { modality: 'email', to_email: 'a@example.com' };
    const subjectOnly = await readCreated(await client.create({ ...base, subject: 'Only this' }));
    expect(await readMessageDraft(await client.get(subjectOnly.draft_id))).toMatchObject({
      subject: 'Only this',
      body_html: null,
      recipient_name: null,
      recipient_phone_number: null,
      cc_emails: [],
      bcc_emails: [],
    });
    const bodyOnly = await readCreated(await client.create({ ...base, body_html: '<p>x</p>' }));
    expect(await readMessageDraft(await client.get(bodyOnly.draft_id))).toMatchObject({
      subject: null,
      body_html: '<p>x</p>',
    });
  });
});

describe('POST …/message-drafts: refusals write nothing', () => {
  async function refused(body: unknown, status: number) {
    const before = await messageDraftRowCounts(database.db);
    const response = await client.create(body);
    const error = await readError(response);
    expect(response.status).toBe(status);
    expect(await messageDraftRowCounts(database.db)).toEqual(before);
    return error.error;
  }

  function issuePaths(error: { details: Record<string, unknown> | null }): string[] {
    const issues = (error.details?.issues ?? []) as { location: string; path: string }[];
    return issues.map((issue) => `${issue.location}:${issue.path}`).sort();
  }

  it('refuses autosend_draft and add_notification together, saying why', async () => {
    const error = await refused({ ...REFERENCE_CREATE_REQUEST, autosend_draft: true }, 400);
    expect(error.code).toBe('validation_failed');
    expect(issuePaths(error)).toEqual(['body:add_notification']);
    expect(error.message).toMatch(/autosend_draft and add_notification are mutually exclusive/);
  });

  it.each([
    ['no subject nor body', { modality: 'email', to_email: 'a@example.com' }, ['body:body_html']],
    [
      'blank subject and body',
      { modality: 'email', to_email: 'a@example.com', subject: ' ', body_html: '' },
      ['body:body_html'],
    ],
    ['no modality', { subject: 'x', to_email: 'a@example.com' }, ['body:modality']],
    ['an unknown modality', { modality: 'fax', subject: 'x' }, ['body:modality']],
    ['an email draft without to_email', { modality: 'email', subject: 'x' }, ['body:to_email']],
    ['a text draft without a number', { modality: 'text', subject: 'x' }, ['body:to_phone_number']],
    [
      'a text draft with Cc and Bcc',
      {
        modality: 'text',
        subject: 'x',
        to_phone_number: '+15138675309',
        cc_emails: ['a@example.com'],
        bcc_emails: ['b@example.com'],
      },
      ['body:bcc_emails', 'body:cc_emails'],
    ],
    [
      'bad addresses',
      {
        modality: 'email',
        subject: 'x',
        to_email: 'not-an-address',
        cc_emails: ['ok@example.com', 'bad'],
      },
      ['body:cc_emails.1', 'body:to_email'],
    ],
    [
      // The reference page's addresses were obfuscated when it was copied; they are not addresses.
      'the obfuscated address of the copied reference',
      { ...REFERENCE_CREATE_REQUEST, to_email: '[email protected]' },
      ['body:to_email'],
    ],
    [
      'a folder with nothing to keep',
      { ...REFERENCE_CREATE_REQUEST, folder: '!!!' },
      ['body:folder'],
    ],
    [
      'a line break in the subject',
      { ...REFERENCE_CREATE_REQUEST, subject: 'a\nb' },
      ['body:subject'],
    ],
    ['an unknown field', { ...REFERENCE_CREATE_REQUEST, sent_at: 'now' }, ['body:']],
    [
      'a string for a flag',
      { ...REFERENCE_CREATE_REQUEST, autosend_draft: 'yes' },
      ['body:autosend_draft'],
    ],
  ])('refuses %s with 400 naming the field', async (_case, body, paths) => {
    const error = await refused(body, 400);
    expect(error.code).toBe('validation_failed');
    expect(issuePaths(error)).toEqual(paths);
  });

  it.each([
    ['123'],
    ['abc'],
    ['+1 999 999 9999'],
    ['555-0100'],
    ['513-867-5309 x12'],
    ['+999 1234 5678'],
  ])('refuses the phone number %j', async (number) => {
    const error = await refused(
      { modality: 'text', subject: 'x', to_phone_number: number, autosend_draft: true },
      400,
    );
    expect(issuePaths(error)).toEqual(['body:to_phone_number']);
    expect(error.message).toMatch(/not a valid phone number/);
  });

  it('refuses a draft whose organization has no working sender for the modality', async () => {
    const bare = await seedOrganization(database.db, 'no senders');
    const bareClient = messageDraftsClient(api.url, bare);
    const expectRefused = async (body: Record<string, unknown>, channel: string) => {
      const before = await messageDraftRowCounts(database.db);
      const response = await bareClient.create(body);
      const error = await readError(response);
      expect(response.status).toBe(422);
      expect(error.error.code).toBe('unprocessable');
      expect(error.error.details).toEqual({
        reason: 'no_working_sender',
        modality: body.modality,
        channel,
      });
      expect(error.error.message).toMatch(/no credentials for .* drafts.*nothing was created/);
      expect(await messageDraftRowCounts(database.db)).toEqual(before);
    };
    const email = { ...REFERENCE_CREATE_REQUEST, add_notification: false, autosend_draft: true };
    const text = { modality: 'text', subject: 'x', to_phone_number: '+15138675309' };

    await expectRefused(REFERENCE_CREATE_REQUEST, 'email');
    await expectRefused(email, 'email');
    await expectRefused(text, 'sms');
    // Senders that cannot send do not count.
    const org = bare.organizationId;
    await seedMessageSender(database.db, org, 'email', { status: 'STOPPED' });
    await seedMessageSender(database.db, org, 'email', { status: 'FAILED' });
    await seedMessageSender(database.db, org, 'email', { role: 'receiving' });
    await seedMessageSender(database.db, org, 'email', { address: null });
    await seedMessageSender(database.db, org, 'sms', { status: 'STOPPED' });
    await expectRefused(REFERENCE_CREATE_REQUEST, 'email');
    await expectRefused(text, 'sms');
    // An SMS sender does not serve email drafts, nor an email account text drafts.
    await seedMessageSender(database.db, org, 'sms');
    await expectRefused(REFERENCE_CREATE_REQUEST, 'email');
    await readCreated(await bareClient.create(text));
  });

  it('answers 404 for another organization in the path, whatever the body', async () => {
    const other = await seedOrganization(database.db, 'other');
    await seedMessageSender(database.db, other.organizationId, 'email');
    const foreign = messageDraftsClient(api.url, acme, other.organizationId);
    for (const body of [REFERENCE_CREATE_REQUEST, { modality: 'fax' }]) {
      const before = await messageDraftRowCounts(database.db);
      const response = await foreign.create(body);
      expect(response.status).toBe(404);
      expect((await readError(response)).error.code).toBe('not_found');
      expect(await messageDraftRowCounts(database.db)).toEqual(before);
    }
    const garbage = messageDraftsClient(api.url, acme, 'HR_id_example_organization_id');
    expect((await garbage.create(REFERENCE_CREATE_REQUEST)).status).toBe(404);
  });

  it('answers 401 without a key', async () => {
    const response = await fetch(client.url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(REFERENCE_CREATE_REQUEST),
    });
    expect(response.status).toBe(401);
  });
});
