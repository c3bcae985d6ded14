import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CredentialsCipher, SANDBOX_RATE_LIMIT } from '@outbound/domain';
import { createTestDatabase, type TestDatabase } from '@outbound/test/harness';
import { markDeliveryFailed, claimDelivery } from './deliveries.repository.ts';
import { dispatchEmailDraft } from './email-draft-dispatch.repository.ts';
import { findEmailDraft, listEmailDrafts } from './email-draft-reads.repository.ts';
import {
  createEmailDraft,
  deleteEmailDraft,
  emailDraftIsEditable,
  lockEmailDraft,
  updateEmailDraft,
} from './email-drafts.repository.ts';
import { createOrganization } from './organizations.repository.ts';
import { createSender } from './senders.repository.ts';

describe('email drafts repository', () => {
  let database: TestDatabase;
  const cipher = new CredentialsCipher(randomBytes(32).toString('base64'));
  let organizationId: string;
  let otherOrganizationId: string;
  let accountId: string;
  let secondAccountId: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    organizationId = (await createOrganization(database.db, 'email drafts')).id;
    otherOrganizationId = (await createOrganization(database.db, 'other')).id;
    accountId = await account('sender@acme.example');
    secondAccountId = await account('second@acme.example');
  });
  afterAll(async () => {
    await database.drop();
  });

  async function account(address: string): Promise<string> {
    const created = await createSender(database.db, cipher, {
      organizationId,
      channel: 'email',
      provider: 'sandbox',
      name: address,
      address,
      rateLimit: SANDBOX_RATE_LIMIT,
    });
    return created.id;
  }

  function update(id: string, changes: Parameters<typeof updateEmailDraft>[2]): Promise<void> {
    return database.db.transaction().execute(async (trx) => {
      const locked = await lockEmailDraft(trx, organizationId, id);
      expect(emailDraftIsEditable(locked!)).toBe(true);
      await updateEmailDraft(trx, locked!, changes);
    });
  }

  it('stores a minimal draft with empty lists and nulls, and reads it back', async () => {
    const id = await createEmailDraft(database.db, organizationId, { fromAccountId: accountId });
    const draft = await findEmailDraft(database.db, organizationId, id);
    expect(draft).toMatchObject({
      id,
      from_account_id: accountId,
      from_email: 'sender@acme.example',
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
      send_id: null,
      provider_message_id: null,
      error: null,
      attachments: [],
    });
    expect(await findEmailDraft(database.db, otherOrganizationId, id)).toBeUndefined();
  });

  it('changes only the given fields; null clears; attachments are replaced whole', async () => {
    const id = await createEmailDraft(database.db, organizationId, {
      fromAccountId: accountId,
      to: ['a@example.com'],
      subject: 'Before',
      bodyHtml: '<p>kept</p>',
      attachments: [
        { filename: 'one.txt', contentType: 'text/plain', data: Buffer.from('1') },
        { filename: 'two.txt', contentType: 'text/plain', data: Buffer.from('22') },
      ],
    });
    const before = await findEmailDraft(database.db, organizationId, id);
    expect(before?.attachments.map((file) => [file.filename, file.size_bytes])).toEqual([
      ['one.txt', 1],
      ['two.txt', 2],
    ]);

    await update(id, {
      fromAccountId: secondAccountId,
      subject: null,
      plannedSendAt: new Date('2030-01-01T00:00:00Z'),
      attachments: [
        { filename: 'three.pdf', contentType: 'application/pdf', data: Buffer.from('333') },
      ],
    });
    const after = await findEmailDraft(database.db, organizationId, id);
    expect(after).toMatchObject({
      from_account_id: secondAccountId,
      from_email: 'second@acme.example',
      to: ['a@example.com'],
      subject: null,
      body_html: '<p>kept</p>',
      planned_send_at: new Date('2030-01-01T00:00:00Z'),
      status: 'scheduled',
    });
    expect(after?.attachments.map((file) => [file.filename, file.size_bytes])).toEqual([
      ['three.pdf', 3],
    ]);
    expect(after!.updated_at.getTime()).toBeGreaterThan(before!.updated_at.getTime());
    expect(after!.created_at).toEqual(before!.created_at);

    await update(id, { plannedSendAt: null });
    expect(await findEmailDraft(database.db, organizationId, id)).toMatchObject({
      planned_send_at: null,
      status: 'draft',
    });
  });

  it("derives the status of a dispatched draft from its delivery, with the provider's answer", async () => {
    const id = await createEmailDraft(database.db, organizationId, {
      fromAccountId: accountId,
      to: ['a@example.com'],
      subject: 'Hi',
    });
    const dispatched = await database.db.transaction().execute(async (trx) => {
      const locked = await lockEmailDraft(trx, organizationId, id);
      return dispatchEmailDraft(trx, locked!, { plannedAt: new Date() });
    });
    if (dispatched.outcome !== 'dispatched') throw new Error('expected a send');
    const [delivery] = dispatched.deliveries;
    expect(await findEmailDraft(database.db, organizationId, id)).toMatchObject({
      status: 'sending',
      error: null,
    });
    await database.db.transaction().execute(async (trx) => {
      expect(emailDraftIsEditable((await lockEmailDraft(trx, organizationId, id))!)).toBe(false);
    });

    const ref = { id: delivery!.id, organization_id: organizationId, send_id: dispatched.sendId };
    const claim = await claimDelivery(database.db, ref);
    await markDeliveryFailed(
      database.db,
      { ...ref, attempt: claim!.attempt },
      { code: 'invalid_recipient', message: 'no such mailbox' },
    );
    expect(await findEmailDraft(database.db, organizationId, id)).toMatchObject({
      status: 'failed',
      send_id: dispatched.sendId,
      error: { code: 'invalid_recipient', message: 'no such mailbox' },
    });
    const failedOnly = await listEmailDrafts(database.db, {
      organizationId,
      status: 'failed',
      limit: 10,
    });
    expect(failedOnly.drafts.map((draft) => draft.id)).toEqual([id]);
  });

  it('lists newest first by pages, filtered by context', async () => {
    const contextId = crypto.randomUUID();
    const ids: string[] = [];
    for (let i = 0; i < 5; i += 1) {
      ids.push(
        await createEmailDraft(database.db, organizationId, {
          fromAccountId: accountId,
          contextType: 'invoice',
          contextId,
        }),
      );
    }
    const seen: string[] = [];
    let after: Parameters<typeof listEmailDrafts>[1]['after'];
    for (;;) {
      const page = await listEmailDrafts(database.db, {
        organizationId,
        contextType: 'invoice',
        contextId,
        limit: 2,
        ...(after === undefined ? {} : { after }),
      });
      seen.push(...page.drafts.map((draft) => draft.id));
      if (page.next === undefined) break;
      after = page.next;
    }
    expect(seen).toEqual([...ids].reverse());
  });

  it('deletes a draft with its attachments, in its organization only', async () => {
    const id = await createEmailDraft(database.db, organizationId, {
      fromAccountId: accountId,
      attachments: [
        { filename: 'x.bin', contentType: 'application/octet-stream', data: Buffer.alloc(4) },
      ],
    });
    expect(await deleteEmailDraft(database.db, otherOrganizationId, id)).toBe(false);
    expect(await deleteEmailDraft(database.db, organizationId, id)).toBe(true);
    const left = await database.db
      .selectFrom('email_draft_attachments')
      .select('id')
      .where('draft_id', '=', id)
      .execute();
    expect(left).toEqual([]);
  });
});
