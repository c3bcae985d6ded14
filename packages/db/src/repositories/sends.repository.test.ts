import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CredentialsCipher, SANDBOX_RATE_LIMIT } from '@outbound/domain';
import { createTestDatabase, type TestDatabase } from '@outbound/test/harness';
import { createOrganization } from './organizations.repository.ts';
import { createSend, findSendWithDeliveries } from './sends.repository.ts';
import { createSender } from './senders.repository.ts';

describe('sends repository', () => {
  let database: TestDatabase;
  const cipher = new CredentialsCipher(randomBytes(32).toString('base64'));

  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database.drop();
  });

  async function sender(name: string) {
    const organization = await createOrganization(database.db, name);
    const session = await createSender(database.db, cipher, {
      organizationId: organization.id,
      channel: 'whatsapp',
      provider: 'sandbox',
      name,
      rateLimit: SANDBOX_RATE_LIMIT,
    });
    return { organizationId: organization.id, senderId: session.id };
  }

  it('writes the send, queued deliveries in recipient order, and an accepted event', async () => {
    const { organizationId, senderId } = await sender('writes');
    const recipients = Array.from({ length: 25 }, (_, i) => ({ recipient: `chat-${i}@g.us` }));
    const created = await database.db.transaction().execute((tx) =>
      createSend(tx, {
        organizationId,
        senderId,
        channel: 'whatsapp',
        origin: 'whatsapp_send',
        content: { text: 'hello', media: [] },
        recipients,
        idempotencyKey: 'key-1',
      }),
    );
    expect(created.deliveries.map((d) => d.recipient)).toEqual(recipients.map((r) => r.recipient));
    expect(created.deliveries.every((d) => d.status === 'queued')).toBe(true);
    expect(created.eventIds).toHaveLength(1);

    const found = await findSendWithDeliveries(database.db, organizationId, created.send.id);
    expect(found?.send.content).toEqual({ text: 'hello', media: [] });
    expect(found?.deliveries.map((d) => d.id)).toEqual(created.deliveries.map((d) => d.id));
    const event = await database.db
      .selectFrom('events')
      .selectAll()
      .where('id', '=', created.eventIds[0]!)
      .executeTakeFirstOrThrow();
    expect(event).toMatchObject({ type: 'send.accepted', send_id: created.send.id });
  });

  it("hides one organization's send from another", async () => {
    const mine = await sender('mine');
    const theirs = await sender('theirs');
    const { send } = await createSend(database.db, {
      ...mine,
      channel: 'whatsapp',
      origin: 'whatsapp_send',
      content: { text: 'x', media: [] },
      recipients: [{ recipient: 'a@g.us' }],
    });
    expect(await findSendWithDeliveries(database.db, theirs.organizationId, send.id)).toBe(
      undefined,
    );
  });

  it('refuses a second send with the same idempotency key in one organization', async () => {
    const { organizationId, senderId } = await sender('dupes');
    const options = {
      organizationId,
      senderId,
      channel: 'whatsapp' as const,
      origin: 'whatsapp_send' as const,
      content: { text: 'x', media: [] },
      recipients: [{ recipient: 'a@g.us' }],
      idempotencyKey: 'same',
    };
    await createSend(database.db, options);
    await expect(createSend(database.db, options)).rejects.toMatchObject({ code: '23505' });
  });
});
