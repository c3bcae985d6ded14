import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CredentialsCipher, SANDBOX_RATE_LIMIT } from '@outbound/domain';
import { createTestDatabase, type TestDatabase } from '@outbound/test/harness';
import { dispatchEmailDraft } from './email-draft-dispatch.repository.ts';
import { createEmailDraft, lockEmailDraft, type NewEmailDraft } from './email-drafts.repository.ts';
import { EmailSendContentError, loadEmailSendMessage } from './email-send-message.repository.ts';
import { createOrganization } from './organizations.repository.ts';
import { createSender } from './senders.repository.ts';

describe('email send message loader', () => {
  let database: TestDatabase;
  const cipher = new CredentialsCipher(randomBytes(32).toString('base64'));
  let organizationId: string;
  let accountId: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    organizationId = (await createOrganization(database.db, 'loader')).id;
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

  /** A dispatched draft's send, as the dispatcher loads it. */
  async function dispatched(draft: Omit<NewEmailDraft, 'fromAccountId'>) {
    const id = await createEmailDraft(database.db, organizationId, {
      fromAccountId: accountId,
      ...draft,
    });
    const result = await database.db.transaction().execute(async (trx) => {
      const locked = await lockEmailDraft(trx, organizationId, id);
      return dispatchEmailDraft(trx, locked!, { plannedAt: new Date() });
    });
    if (result.outcome !== 'dispatched') throw new Error('expected a send');
    const send = await database.db
      .selectFrom('sends')
      .select(['id', 'channel', 'content'])
      .where('id', '=', result.sendId)
      .executeTakeFirstOrThrow();
    return { draftId: id, send };
  }

  it('returns the addresses, subject, bodies and attachments with their bytes, in order', async () => {
    const pdf = randomBytes(2_000);
    const { send } = await dispatched({
      to: ['to@example.com'],
      cc: ['cc@example.com'],
      bcc: ['bcc1@example.com', 'bcc2@example.com'],
      subject: 'Invoice',
      bodyHtml: '<p>Attached</p>',
      attachments: [
        { filename: 'invoice.pdf', contentType: 'application/pdf', data: pdf },
        { filename: 'notes.txt', contentType: 'text/plain; charset=utf-8', data: Buffer.from('n') },
      ],
    });
    expect(await loadEmailSendMessage(database.db, organizationId, send)).toEqual({
      from: 'sender@acme.example',
      to: ['to@example.com'],
      cc: ['cc@example.com'],
      bcc: ['bcc1@example.com', 'bcc2@example.com'],
      subject: 'Invoice',
      text: null,
      html: '<p>Attached</p>',
      attachments: [
        { filename: 'invoice.pdf', contentType: 'application/pdf', data: pdf },
        { filename: 'notes.txt', contentType: 'text/plain; charset=utf-8', data: Buffer.from('n') },
      ],
    });
  });

  it('refuses a send of another channel, unreadable content, or a vanished attachment', async () => {
    const { send, draftId } = await dispatched({
      to: ['to@example.com'],
      bodyText: 'x',
      attachments: [{ filename: 'a.txt', contentType: 'text/plain', data: Buffer.from('a') }],
    });
    await expect(
      loadEmailSendMessage(database.db, organizationId, { ...send, channel: 'whatsapp' }),
    ).rejects.toThrow(EmailSendContentError);
    await expect(
      loadEmailSendMessage(database.db, organizationId, { ...send, content: { text: 'x' } }),
    ).rejects.toThrow(/does not hold email content/);
    // Another organization's loader finds no attachment of this draft.
    const other = (await createOrganization(database.db, 'other')).id;
    await expect(loadEmailSendMessage(database.db, other, send)).rejects.toThrow(
      /no longer exists/,
    );
    await database.db
      .deleteFrom('email_draft_attachments')
      .where('draft_id', '=', draftId)
      .execute();
    await expect(loadEmailSendMessage(database.db, organizationId, send)).rejects.toThrow(
      EmailSendContentError,
    );
  });
});
