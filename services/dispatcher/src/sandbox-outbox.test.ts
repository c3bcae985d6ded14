import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdapter, PermanentDeliveryError, RetryableDeliveryError } from '@outbound/channels';
import {
  createOrganization,
  createSender,
  listSandboxMessages,
  type SenderRecord,
} from '@outbound/db';
import { CredentialsCipher, SANDBOX_RATE_LIMIT } from '@outbound/domain';
import { createTestDatabase, type TestDatabase } from '@outbound/test/harness';
import { createSandboxOutbox } from './sandbox-outbox.ts';

describe('sandbox provider with the Postgres outbox', () => {
  let database: TestDatabase;
  let sender: SenderRecord;

  beforeAll(async () => {
    database = await createTestDatabase();
    const organization = await createOrganization(database.db, 'Sandbox test');
    sender = await createSender(
      database.db,
      new CredentialsCipher(randomBytes(32).toString('base64')),
      {
        organizationId: organization.id,
        channel: 'whatsapp',
        provider: 'sandbox',
        name: 'demo session',
        rateLimit: SANDBOX_RATE_LIMIT,
      },
    );
  });
  afterAll(async () => {
    await database.drop();
  });

  const adapter = () =>
    createAdapter({ ...sender, channel: 'whatsapp' as const }, undefined, {
      sandboxOutbox: createSandboxOutbox(database.db),
    });

  it('stores the delivered message and answers with its row id', async () => {
    const deliveryId = randomUUID();
    const media = [{ url: 'https://outbound.example/media/a.png', mimetype: 'image/png' }];
    const { providerMessageId } = await adapter().send({
      message: { channel: 'whatsapp', chatId: '120363@g.us', text: 'Hello group', media },
      attempt: 1,
      deliveryId,
    });
    const rows = await listSandboxMessages(database.db, { deliveryId });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      id: providerMessageId,
      sender_id: sender.id,
      organization_id: sender.organization_id,
      channel: 'whatsapp',
      recipient: '120363@g.us',
      content: { chatId: '120363@g.us', text: 'Hello group', media, attempt: 1 },
    });
  });

  it('stores nothing for a rejected recipient, and a flaky one only on its retry', async () => {
    const before = (await listSandboxMessages(database.db, { senderId: sender.id })).length;
    await expect(
      adapter().send({
        message: { channel: 'whatsapp', chatId: 'fail@g.us', text: 'x' },
        attempt: 1,
      }),
    ).rejects.toBeInstanceOf(PermanentDeliveryError);
    const flaky = {
      channel: 'whatsapp' as const,
      chatId: 'a@g.us',
      recipientName: 'Flaky',
      text: 'x',
    };
    await expect(adapter().send({ message: flaky, attempt: 1 })).rejects.toBeInstanceOf(
      RetryableDeliveryError,
    );
    expect(await listSandboxMessages(database.db, { senderId: sender.id })).toHaveLength(before);
    await adapter().send({ message: flaky, attempt: 2 });
    expect(await listSandboxMessages(database.db, { senderId: sender.id })).toHaveLength(
      before + 1,
    );
  });
});
