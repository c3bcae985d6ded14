import { randomBytes } from 'node:crypto';
import {
  createSandboxAdapter,
  parseMessage,
  PermanentDeliveryError,
  type SandboxEntry,
} from '@outbound/channels';
import {
  dispatchEmailDraft,
  type EmailDraftChanges,
  loadDeliveryForSending,
  lockEmailDraft,
} from '@outbound/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emailDeliveryMessage, textFromHtml } from './email-delivery-message.ts';
import {
  openEmailDraftsTestContext,
  seedEmailAccount,
  seedEmailDraft,
  type EmailDraftsTestContext,
  type SeededEmailAccount,
} from './test-support/email-drafts.ts';

let ctx: EmailDraftsTestContext;
let account: SeededEmailAccount;

beforeAll(async () => {
  ctx = await openEmailDraftsTestContext();
  account = await seedEmailAccount(ctx.db, 'billing@acme.example');
});
afterAll(async () => {
  await ctx?.close();
});

/** A draft dispatched as the API does it, and its one delivery loaded as the deliver job does. */
async function dispatchedDelivery(changes: EmailDraftChanges) {
  const id = await seedEmailDraft(ctx.db, account, changes);
  const result = await ctx.db.transaction().execute(async (trx) => {
    const locked = await lockEmailDraft(trx, account.organizationId, id);
    return dispatchEmailDraft(trx, locked!, { plannedAt: new Date() });
  });
  if (result.outcome !== 'dispatched') throw new Error('expected a send');
  const loaded = await loadDeliveryForSending(
    ctx.db,
    account.organizationId,
    result.deliveries[0]!.id,
  );
  return { draftId: id, loaded: loaded! };
}

describe('the email a delivery sends', () => {
  it('carries every address, the HTML unchanged, a text part derived from it, and the files', async () => {
    const pdf = randomBytes(3_000);
    const html =
      '<h1>Invoice</h1><p>Total: <b>42 &euro;</b> — <a href="https://pay.example/1">pay</a></p><img src="data:image/png;base64,AAAA">';
    const { loaded } = await dispatchedDelivery({
      to: ['a@example.com', 'b@example.com'],
      cc: ['c@example.com'],
      bcc: ['d@example.com'],
      subject: 'Your invoice',
      bodyHtml: html,
      attachments: [{ filename: 'invoice.pdf', contentType: 'application/pdf', data: pdf }],
    });
    const message = await emailDeliveryMessage(ctx.db, loaded);
    expect(message).toEqual({
      channel: 'email',
      from: { address: 'billing@acme.example' },
      to: ['a@example.com', 'b@example.com'],
      cc: ['c@example.com'],
      bcc: ['d@example.com'],
      subject: 'Your invoice',
      text: 'INVOICE\n\nTotal: 42 € — pay [https://pay.example/1]',
      html,
      attachments: [
        {
          filename: 'invoice.pdf',
          contentType: 'application/pdf',
          contentBase64: pdf.toString('base64'),
        },
      ],
    });

    // A real adapter takes it as one call for every recipient.
    expect(parseMessage('email', message)).toEqual(message);
    const recorded: SandboxEntry[] = [];
    const adapter = createSandboxAdapter({
      channel: 'email',
      organizationId: account.organizationId,
      senderId: account.accountId,
      outbox: {
        record: (entry) => {
          recorded.push(entry);
          return Promise.resolve(`sandbox-${recorded.length}`);
        },
      },
    });
    expect(await adapter.send({ message, attempt: 1, deliveryId: loaded.delivery.id })).toEqual({
      providerMessageId: 'sandbox-1',
    });
    expect(recorded).toHaveLength(1);
  });

  it('keeps a given text body, and sends no text part for HTML without text', async () => {
    const { loaded } = await dispatchedDelivery({ bodyText: 'Plain', bodyHtml: '<p>Rich</p>' });
    expect(await emailDeliveryMessage(ctx.db, loaded)).toMatchObject({
      text: 'Plain',
      html: '<p>Rich</p>',
    });
    const imageOnly = await dispatchedDelivery({ bodyHtml: '<img src="x.png">' });
    const message = await emailDeliveryMessage(ctx.db, imageOnly.loaded);
    expect(message).not.toHaveProperty('text');
    expect(message.html).toBe('<img src="x.png">');
    const subjectOnly = await dispatchedDelivery({ subject: 'Just a subject' });
    const bare = await emailDeliveryMessage(ctx.db, subjectOnly.loaded);
    expect(bare.subject).toBe('Just a subject');
    expect(bare).not.toHaveProperty('text');
    expect(bare).not.toHaveProperty('html');
  });

  it('fails for good when the send cannot become an email', async () => {
    const { loaded, draftId } = await dispatchedDelivery({
      bodyText: 'x',
      attachments: [{ filename: 'a.txt', contentType: 'text/plain', data: Buffer.from('a') }],
    });
    await ctx.db.deleteFrom('email_draft_attachments').where('draft_id', '=', draftId).execute();
    const failure = emailDeliveryMessage(ctx.db, loaded);
    await expect(failure).rejects.toThrow(PermanentDeliveryError);
    await expect(failure).rejects.toMatchObject({ code: 'invalid_message' });
  });

  it('derives readable text from HTML', () => {
    expect(textFromHtml('<p>One</p><ul><li>a</li><li>b</li></ul><script>x()</script>')).toBe(
      'One\n\n * a\n * b',
    );
    expect(textFromHtml('<a href="https://x.example">https://x.example</a>')).toBe(
      'https://x.example',
    );
  });
});
