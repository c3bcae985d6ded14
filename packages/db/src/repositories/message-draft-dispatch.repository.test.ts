import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CredentialsCipher, SANDBOX_RATE_LIMIT } from '@outbound/domain';
import { createTestDatabase, type TestDatabase } from '@outbound/test/harness';
import { findConversation, listConversationMessages } from './conversations.repository.ts';
import { claimDelivery, markDeliveryFailed, markDeliverySent } from './deliveries.repository.ts';
import {
  failMessageDraftOfSend,
  promoteSentMessageDraft,
  queueMessageDraft,
} from './message-draft-dispatch.repository.ts';
import { isMessageDraftSend, messageDraftSendContentSchema } from './message-draft-send-content.ts';
import {
  findMessageDraft,
  insertMessageDraft,
  listMessageDrafts,
  type NewMessageDraft,
} from './message-drafts.repository.ts';
import { createOrganization } from './organizations.repository.ts';
import { createSend } from './sends.repository.ts';
import { createSender } from './senders.repository.ts';

const cipher = new CredentialsCipher(randomBytes(32).toString('base64'));

let database: TestDatabase;
let organizationId: string;
let emailSenderId: string;
let smsSenderId: string;

beforeAll(async () => {
  database = await createTestDatabase();
  organizationId = (await createOrganization(database.db, 'message drafts')).id;
  const sender = (channel: 'email' | 'sms', address: string) =>
    createSender(database.db, cipher, {
      organizationId,
      channel,
      provider: 'sandbox',
      name: channel,
      address,
      rateLimit: SANDBOX_RATE_LIMIT,
    });
  emailSenderId = (await sender('email', 'sales@acme.example')).id;
  smsSenderId = (await sender('sms', '+15005550006')).id;
});

afterAll(async () => {
  await database.drop();
});

function emailDraft(overrides: Partial<NewMessageDraft> = {}): NewMessageDraft {
  return {
    organizationId,
    modality: 'email',
    senderId: emailSenderId,
    subject: 'Following up on your quote',
    bodyHtml: '<p>Hi Diana, checking in on the quote we sent yesterday.</p>',
    recipientName: 'Diana Prince',
    recipientEmail: 'diana@example.com',
    recipientPhoneNumber: '+15138675309',
    ccEmails: ['cc@example.com'],
    bccEmails: ['bcc@example.com'],
    folder: 'sales-follow-up',
    ...overrides,
  };
}

const textDraft = (overrides: Partial<NewMessageDraft> = {}): NewMessageDraft =>
  emailDraft({
    modality: 'text',
    senderId: smsSenderId,
    recipientEmail: null,
    ccEmails: [],
    bccEmails: [],
    ...overrides,
  });

/** A draft queued as the API's autosend does: inserted, then queued, in one transaction. */
async function queued(draft: NewMessageDraft) {
  return database.db.transaction().execute(async (trx) => {
    const row = await insertMessageDraft(trx, draft);
    const result = await queueMessageDraft(trx, row, { actorUserId: 'user-1' });
    return { draftId: row.id, ...result };
  });
}

/** Plays the dispatcher's part for the send's one delivery: claimed, then sent or failed. */
async function finish(sendId: string, outcome: 'sent' | 'failed'): Promise<void> {
  const delivery = await database.db
    .selectFrom('deliveries')
    .selectAll()
    .where('send_id', '=', sendId)
    .executeTakeFirstOrThrow();
  const ref = { id: delivery.id, organization_id: organizationId, send_id: sendId };
  const claim = await claimDelivery(database.db, ref);
  if (claim === undefined) throw new Error('not queued');
  const attempt = { ...ref, attempt: claim.attempt };
  if (outcome === 'sent') await markDeliverySent(database.db, attempt, 'provider-1');
  else await markDeliveryFailed(database.db, attempt, { code: 'invalid_recipient', message: 'no' });
}

async function counts(): Promise<Record<string, number>> {
  const count = async (table: 'conversations' | 'conversation_messages' | 'events') =>
    Number(
      (
        await database.db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll<string>().as('n'))
          .where('organization_id', '=', organizationId)
          .executeTakeFirstOrThrow()
      ).n,
    );
  return {
    conversations: await count('conversations'),
    conversation_messages: await count('conversation_messages'),
    events: await count('events'),
  };
}

describe('queueMessageDraft', () => {
  it('makes an email send with one delivery, snapshotting the draft', async () => {
    const { draftId, sendId, deliveries } = await queued(emailDraft());
    const send = await database.db
      .selectFrom('sends')
      .selectAll()
      .where('id', '=', sendId)
      .executeTakeFirstOrThrow();
    expect(send).toMatchObject({
      channel: 'email',
      origin: 'message_draft',
      sender_id: emailSenderId,
      status: 'queued',
      actor_user_id: 'user-1',
    });
    expect(isMessageDraftSend(send)).toBe(true);
    expect(messageDraftSendContentSchema.parse(send.content)).toEqual({
      kind: 'message_draft',
      message_draft_id: draftId,
      modality: 'email',
      from: 'sales@acme.example',
      to: 'diana@example.com',
      to_name: 'Diana Prince',
      cc: ['cc@example.com'],
      bcc: ['bcc@example.com'],
      subject: 'Following up on your quote',
      html: '<p>Hi Diana, checking in on the quote we sent yesterday.</p>',
    });
    expect(deliveries).toHaveLength(1);
    expect(deliveries[0]).toMatchObject({ recipient: 'diana@example.com', status: 'queued' });

    const draft = await findMessageDraft(database.db, organizationId, draftId);
    expect(draft).toMatchObject({ status: 'queued', send_id: sendId, conversation_id: null });
    expect(draft?.scheduled_send_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    expect(Date.parse(draft?.scheduled_send_at ?? '')).toBe(send.planned_at.getTime());
  });

  it('makes an sms send to the E.164 number of a text draft', async () => {
    const { draftId, sendId, deliveries } = await queued(textDraft({ subject: null }));
    const send = await database.db
      .selectFrom('sends')
      .select(['channel', 'content'])
      .where('id', '=', sendId)
      .executeTakeFirstOrThrow();
    expect(send.channel).toBe('sms');
    expect(messageDraftSendContentSchema.parse(send.content)).toEqual({
      kind: 'message_draft',
      message_draft_id: draftId,
      modality: 'text',
      to: '+15138675309',
      to_name: 'Diana Prince',
      subject: null,
      html: '<p>Hi Diana, checking in on the quote we sent yesterday.</p>',
    });
    expect(deliveries.map((delivery) => delivery.recipient)).toEqual(['+15138675309']);
  });

  it('refuses a draft that is already queued', async () => {
    const { draftId } = await queued(emailDraft());
    await expect(
      database.db.transaction().execute(async (trx) => {
        const row = await trx
          .selectFrom('message_drafts')
          .selectAll()
          .where('id', '=', draftId)
          .executeTakeFirstOrThrow();
        await queueMessageDraft(trx, row);
      }),
    ).rejects.toThrow(/not a new, unsent draft/);
  });
});

describe('promoteSentMessageDraft', () => {
  it('does nothing until the delivery is sent', async () => {
    const { draftId, sendId } = await queued(emailDraft());
    const before = await counts();
    expect(await promoteSentMessageDraft(database.db, { organizationId, sendId })).toBeUndefined();
    expect(await counts()).toEqual(before);
    expect(await findMessageDraft(database.db, organizationId, draftId)).toMatchObject({
      status: 'queued',
      conversation_id: null,
    });
  });

  it('opens a conversation with the draft as its first outbound message, once', async () => {
    const { draftId, sendId } = await queued(emailDraft());
    await finish(sendId, 'sent');
    const before = await counts();

    const promoted = await promoteSentMessageDraft(database.db, { organizationId, sendId });
    expect(promoted).toMatchObject({ draftId, promoted: true });
    const conversationId = promoted!.conversationId;
    expect(await findConversation(database.db, organizationId, conversationId)).toMatchObject({
      modality: 'email',
      subject: 'Following up on your quote',
      recipient_name: 'Diana Prince',
      recipient_email: 'diana@example.com',
      recipient_phone_number: '+15138675309',
      message_draft_id: draftId,
    });
    const messages = await listConversationMessages(database.db, organizationId, conversationId);
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatchObject({
      direction: 'outbound',
      subject: 'Following up on your quote',
      body_html: '<p>Hi Diana, checking in on the quote we sent yesterday.</p>',
      send_id: sendId,
      message_draft_id: draftId,
    });
    expect(await findMessageDraft(database.db, organizationId, draftId)).toMatchObject({
      status: 'sent',
      conversation_id: conversationId,
    });
    const after = await counts();
    expect(after).toEqual({
      conversations: before.conversations! + 1,
      conversation_messages: before.conversation_messages! + 1,
      events: before.events! + 1,
    });

    // A second call, and two more at once, change nothing.
    expect(await promoteSentMessageDraft(database.db, { organizationId, sendId })).toEqual({
      draftId,
      conversationId,
      promoted: false,
    });
    const again = await Promise.all([
      promoteSentMessageDraft(database.db, { organizationId, sendId }),
      promoteSentMessageDraft(database.db, { organizationId, sendId }),
    ]);
    expect(again.map((result) => result?.promoted)).toEqual([false, false]);
    expect(await counts()).toEqual(after);
  });

  it('promotes concurrent first calls exactly once', async () => {
    const { sendId } = await queued(textDraft());
    await finish(sendId, 'sent');
    const before = await counts();
    const results = await Promise.all([
      promoteSentMessageDraft(database.db, { organizationId, sendId }),
      promoteSentMessageDraft(database.db, { organizationId, sendId }),
    ]);
    expect(results.map((result) => result?.promoted).sort()).toEqual([false, true]);
    expect(results[0]?.conversationId).toBe(results[1]?.conversationId);
    expect((await counts()).conversations).toBe(before.conversations! + 1);
  });

  it('leaves sends that were not made from a message draft alone', async () => {
    const other = await createSend(database.db, {
      organizationId,
      senderId: emailSenderId,
      channel: 'email',
      origin: 'email_draft',
      content: { kind: 'message_draft' },
      recipients: [{ recipient: 'x@example.com' }],
    });
    await finish(other.send.id, 'sent');
    const before = await counts();
    expect(
      await promoteSentMessageDraft(database.db, { organizationId, sendId: other.send.id }),
    ).toBeUndefined();
    expect(
      await promoteSentMessageDraft(database.db, {
        organizationId,
        sendId: '00000000-0000-7000-8000-000000000000',
      }),
    ).toBeUndefined();
    expect(
      await failMessageDraftOfSend(database.db, { organizationId, sendId: other.send.id }),
    ).toBe(false);
    expect(await counts()).toEqual(before);
  });

  it('finds nothing of another organization', async () => {
    const { sendId } = await queued(emailDraft());
    await finish(sendId, 'sent');
    const stranger = (await createOrganization(database.db, 'stranger')).id;
    expect(
      await promoteSentMessageDraft(database.db, { organizationId: stranger, sendId }),
    ).toBeUndefined();
    expect(await promoteSentMessageDraft(database.db, { organizationId, sendId })).toMatchObject({
      promoted: true,
    });
  });

  it('leaves promoted drafts out of the listing', async () => {
    const { draftId, sendId } = await queued(emailDraft());
    const listed = async () =>
      (await listMessageDrafts(database.db, { organizationId, limit: 100 })).drafts.map(
        (draft) => draft.id,
      );
    expect(await listed()).toContain(draftId);
    await finish(sendId, 'sent');
    // Sent but not yet promoted: already left out.
    expect(await listed()).not.toContain(draftId);
    await promoteSentMessageDraft(database.db, { organizationId, sendId });
    expect(await listed()).not.toContain(draftId);
  });
});

describe('failMessageDraftOfSend', () => {
  it('marks the draft failed once its delivery failed, once', async () => {
    const { draftId, sendId } = await queued(emailDraft());
    expect(await failMessageDraftOfSend(database.db, { organizationId, sendId })).toBe(false);
    await finish(sendId, 'failed');
    const before = await counts();

    expect(await failMessageDraftOfSend(database.db, { organizationId, sendId })).toBe(true);
    const draft = await database.db
      .selectFrom('message_drafts')
      .select(['status', 'conversation_id'])
      .where('id', '=', draftId)
      .executeTakeFirstOrThrow();
    expect(draft).toEqual({ status: 'failed', conversation_id: null });
    const event = await database.db
      .selectFrom('events')
      .select(['type', 'payload'])
      .where('send_id', '=', sendId)
      .where('type', '=', 'message_draft.failed')
      .executeTakeFirstOrThrow();
    expect(event.payload).toEqual({
      message_draft_id: draftId,
      delivery_status: 'failed',
      error_code: 'invalid_recipient',
    });
    expect(await counts()).toEqual({ ...before, events: before.events! + 1 });

    expect(await failMessageDraftOfSend(database.db, { organizationId, sendId })).toBe(false);
    expect(await promoteSentMessageDraft(database.db, { organizationId, sendId })).toBeUndefined();
    expect(await counts()).toEqual({ ...before, events: before.events! + 1 });
  });

  it('does not fail a draft whose delivery was sent', async () => {
    const { draftId, sendId } = await queued(textDraft());
    await finish(sendId, 'sent');
    expect(await failMessageDraftOfSend(database.db, { organizationId, sendId })).toBe(false);
    expect(await findMessageDraft(database.db, organizationId, draftId)).toMatchObject({
      status: 'sent',
      conversation_id: null,
    });
  });
});
