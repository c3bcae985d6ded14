import {
  createSandboxAdapter,
  emailMessageSchema,
  parseMessage,
  PermanentDeliveryError,
  type SandboxEntry,
  smsMessageSchema,
} from '@outbound/channels';
import {
  createOrganization,
  createSender,
  insertMessageDraft,
  isMessageDraftSend,
  loadDeliveryForSending,
  type NewMessageDraft,
  queueMessageDraft,
} from '@outbound/db';
import { SANDBOX_RATE_LIMIT } from '@outbound/domain';
import { createTestDatabase, type TestDatabase } from '@outbound/test/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  messageDraftDeliveryMessage,
  SMS_MAX_CHARACTERS,
  smsTextFromHtml,
} from './message-draft-message.ts';
import { testCipher } from './test-support/fixtures.ts';

let database: TestDatabase;
let organizationId: string;
let emailSenderId: string;
let smsSenderId: string;

beforeAll(async () => {
  database = await createTestDatabase();
  organizationId = (await createOrganization(database.db, 'message drafts')).id;
  const sender = async (channel: 'email' | 'sms', address: string) =>
    (
      await createSender(database.db, testCipher, {
        organizationId,
        channel,
        provider: 'sandbox',
        name: channel,
        address,
        rateLimit: SANDBOX_RATE_LIMIT,
      })
    ).id;
  emailSenderId = await sender('email', 'sales@acme.example');
  smsSenderId = await sender('sms', '+15005550006');
});

afterAll(async () => {
  await database.drop();
});

const HTML =
  '<p>Hi Diana, checking in on the <b>quote</b> we sent yesterday: ' +
  '<a href="https://acme.example/q/1">see it</a>.</p><img src="data:image/png;base64,AAAA">';

function draft(overrides: Partial<NewMessageDraft> = {}): NewMessageDraft {
  return {
    organizationId,
    modality: 'email',
    senderId: emailSenderId,
    subject: 'Following up on your quote',
    bodyHtml: HTML,
    recipientName: 'Diana Prince',
    recipientEmail: 'diana@example.com',
    recipientPhoneNumber: '+15138675309',
    ccEmails: ['cc@example.com'],
    bccEmails: ['bcc@example.com'],
    folder: 'drafts',
    ...overrides,
  };
}

const textDraft = (overrides: Partial<NewMessageDraft> = {}) =>
  draft({ modality: 'text', senderId: smsSenderId, ccEmails: [], bccEmails: [], ...overrides });

/** A draft queued as the API's autosend does, its delivery loaded as the deliver job does. */
async function loadedDelivery(fields: NewMessageDraft) {
  const queued = await database.db.transaction().execute(async (trx) => {
    const row = await insertMessageDraft(trx, fields);
    return queueMessageDraft(trx, row);
  });
  const loaded = await loadDeliveryForSending(
    database.db,
    organizationId,
    queued.deliveries[0]!.id,
  );
  if (loaded === undefined) throw new Error('delivery not found');
  return loaded;
}

/** A sandbox adapter whose outbox keeps entries in memory. */
function sandbox<C extends 'email' | 'sms'>(channel: C) {
  const entries: SandboxEntry[] = [];
  const adapter = createSandboxAdapter({
    channel,
    organizationId,
    senderId: 'sender',
    outbox: {
      record: (entry) => {
        entries.push(entry);
        return Promise.resolve(`sandbox-${entries.length}`);
      },
    },
  });
  return { adapter, entries };
}

function permanent(work: () => unknown): PermanentDeliveryError {
  try {
    work();
  } catch (error) {
    expect(error).toBeInstanceOf(PermanentDeliveryError);
    return error as PermanentDeliveryError;
  }
  throw new Error('expected a PermanentDeliveryError');
}

describe('the email a message draft sends', () => {
  it('goes from the sender’s address to the recipient, Cc and Bcc, HTML unchanged, with text', async () => {
    const loaded = await loadedDelivery(draft());
    expect(isMessageDraftSend(loaded.send)).toBe(true);
    const message = messageDraftDeliveryMessage(loaded.send);
    expect(message).toEqual({
      channel: 'email',
      from: { address: 'sales@acme.example' },
      to: ['diana@example.com'],
      cc: ['cc@example.com'],
      bcc: ['bcc@example.com'],
      recipientName: 'Diana Prince',
      subject: 'Following up on your quote',
      // `textFromHtml`, as for email drafts: wrapped at 80 columns, images left out.
      text: 'Hi Diana, checking in on the quote we sent yesterday: see it\n[https://acme.example/q/1].',
      html: HTML,
      attachments: [],
    });
    expect(emailMessageSchema.parse(message)).toEqual(message);
    expect(parseMessage('email', message)).toEqual(message);

    const { adapter, entries } = sandbox('email');
    await expect(adapter.send({ message: message as never, attempt: 1 })).resolves.toEqual({
      providerMessageId: 'sandbox-1',
    });
    expect(entries[0]?.recipient).toContain('diana@example.com');
  });

  it('sends a subject alone, and a body alone with an empty subject', async () => {
    const subjectOnly = messageDraftDeliveryMessage(
      (await loadedDelivery(draft({ bodyHtml: null, recipientName: null }))).send,
    );
    expect(subjectOnly).toEqual({
      channel: 'email',
      from: { address: 'sales@acme.example' },
      to: ['diana@example.com'],
      cc: ['cc@example.com'],
      bcc: ['bcc@example.com'],
      subject: 'Following up on your quote',
      attachments: [],
    });
    expect(() => emailMessageSchema.parse(subjectOnly)).not.toThrow();

    const bodyOnly = messageDraftDeliveryMessage(
      (await loadedDelivery(draft({ subject: null }))).send,
    );
    expect(bodyOnly).toMatchObject({ subject: '', html: HTML });
    expect(() => emailMessageSchema.parse(bodyOnly)).not.toThrow();
  });
});

describe('the SMS a text message draft sends', () => {
  it('goes to the E.164 number with the body’s plain text, unwrapped', async () => {
    const loaded = await loadedDelivery(textDraft());
    expect(loaded.send.channel).toBe('sms');
    const message = messageDraftDeliveryMessage(loaded.send);
    expect(message).toEqual({
      channel: 'sms',
      to: '+15138675309',
      recipientName: 'Diana Prince',
      text: 'Hi Diana, checking in on the quote we sent yesterday: see it [https://acme.example/q/1].',
    });
    expect(smsMessageSchema.parse(message)).toEqual(message);

    const long = `<p>${'word '.repeat(60)}</p>`;
    const unwrapped = messageDraftDeliveryMessage(
      (await loadedDelivery(textDraft({ bodyHtml: long }))).send,
    );
    expect(unwrapped).toMatchObject({ text: 'word '.repeat(60).trim() });

    const { adapter, entries } = sandbox('sms');
    await expect(adapter.send({ message: message as never, attempt: 1 })).resolves.toEqual({
      providerMessageId: 'sandbox-1',
    });
    expect(entries[0]?.recipient).toBe('+15138675309');
  });

  it('sends the subject when the body has no text', async () => {
    for (const bodyHtml of [null, '<p> </p>', '<img src="x.png">']) {
      const message = messageDraftDeliveryMessage(
        (await loadedDelivery(textDraft({ bodyHtml, recipientName: null }))).send,
      );
      expect(message).toEqual({
        channel: 'sms',
        to: '+15138675309',
        text: 'Following up on your quote',
      });
      expect(() => smsMessageSchema.parse(message)).not.toThrow();
    }
  });

  it('refuses, permanently, an SMS with no text or too much', async () => {
    const empty = (await loadedDelivery(textDraft({ subject: null, bodyHtml: '<p></p>' }))).send;
    expect(permanent(() => messageDraftDeliveryMessage(empty))).toMatchObject({
      code: 'invalid_message',
      message: expect.stringMatching(/has no text to send/) as string,
    });
    const html = `<p>${'x'.repeat(SMS_MAX_CHARACTERS + 1)}</p>`;
    const tooLong = (await loadedDelivery(textDraft({ bodyHtml: html }))).send;
    expect(permanent(() => messageDraftDeliveryMessage(tooLong))).toMatchObject({
      code: 'invalid_message',
      message: expect.stringMatching(
        /1601 characters of text; an SMS carries at most 1600/,
      ) as string,
    });
    const exactly = `<p>${'x'.repeat(SMS_MAX_CHARACTERS)}</p>`;
    const fits = messageDraftDeliveryMessage(
      (await loadedDelivery(textDraft({ bodyHtml: exactly }))).send,
    );
    expect(() => smsMessageSchema.parse(fits)).not.toThrow();
  });
});

describe('sends that are not a message draft’s', () => {
  it('are refused permanently', () => {
    const send = {
      id: 'send-1',
      channel: 'email' as const,
      status: 'queued' as const,
      request_id: null,
    };
    for (const content of [
      { text: 'hi', media: [] },
      { kind: 'message_draft', modality: 'email' },
    ]) {
      expect(permanent(() => messageDraftDeliveryMessage({ ...send, content }))).toMatchObject({
        code: 'invalid_message',
        message: expect.stringMatching(/does not hold message draft content/) as string,
      });
    }
    expect(isMessageDraftSend({ content: { text: 'hi', media: [] } })).toBe(false);
  });

  it('are refused when the content does not match the send’s channel', async () => {
    const loaded = await loadedDelivery(textDraft());
    expect(
      permanent(() => messageDraftDeliveryMessage({ ...loaded.send, channel: 'email' })),
    ).toMatchObject({ code: 'invalid_message' });
  });
});

describe('smsTextFromHtml', () => {
  it('keeps paragraphs apart and decodes entities', () => {
    expect(smsTextFromHtml('<p>One &amp; two</p><p>Three</p>')).toBe('One & two\n\nThree');
  });
});
