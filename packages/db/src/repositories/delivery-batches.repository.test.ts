import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CredentialsCipher } from '@outbound/domain';
import { createTestDatabase, type TestDatabase } from '@outbound/test/harness';
import type { Delivery } from '../database.ts';
import {
  type AttemptOutcome,
  claimDeliveries,
  loadDeliveriesForSending,
  recordOutcomes,
} from './delivery-batches.repository.ts';
import type { AttemptRef, DeliveryRef } from './delivery-types.ts';
import { createOrganization } from './organizations.repository.ts';
import { createSend } from './sends.repository.ts';
import { createSender } from './senders.repository.ts';

describe('delivery batches repository', () => {
  let database: TestDatabase;
  const cipher = new CredentialsCipher(randomBytes(32).toString('base64'));

  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database.drop();
  });

  async function organizationWithSender() {
    const organization = await createOrganization(database.db, 'batches');
    const sender = await createSender(database.db, cipher, {
      organizationId: organization.id,
      channel: 'whatsapp',
      provider: 'sandbox',
      name: 'session',
      rateLimit: { max: 10, window_ms: 1_000 },
    });
    return { organizationId: organization.id, senderId: sender.id };
  }

  async function send(owner: { organizationId: string; senderId: string }, recipients: number) {
    const created = await createSend(database.db, {
      organizationId: owner.organizationId,
      senderId: owner.senderId,
      channel: 'whatsapp',
      origin: 'whatsapp_send',
      content: { text: 'hello', media: [] },
      recipients: Array.from({ length: recipients }, (_, i) => ({ recipient: `chat-${i}@g.us` })),
    });
    return { sendId: created.send.id, deliveries: created.deliveries.map(ref) };
  }

  const ref = (delivery: Delivery): DeliveryRef => ({
    id: delivery.id,
    organization_id: delivery.organization_id,
    send_id: delivery.send_id,
  });
  const statusOf = async (table: 'sends' | 'deliveries', id: string) =>
    (
      await database.db
        .selectFrom(table)
        .select('status')
        .where('id', '=', id)
        .executeTakeFirstOrThrow()
    ).status;
  const eventsOf = (column: 'send_id' | 'delivery_id', id: string) =>
    database.db
      .selectFrom('events')
      .select(['type', 'payload'])
      .where(column, '=', id)
      .orderBy('id')
      .execute();
  async function claimAll(refs: DeliveryRef[]): Promise<AttemptRef[]> {
    const claimed = await claimDeliveries(database.db, refs);
    return refs.map((each) => ({ ...each, attempt: claimed.get(each.id)! }));
  }

  it('loads many deliveries in one query, only those of the named organization', async () => {
    const owner = await organizationWithSender();
    const other = await organizationWithSender();
    const { deliveries } = await send(owner, 3);
    const foreign = (await send(other, 1)).deliveries[0]!;

    const loaded = await loadDeliveriesForSending(database.db, [
      ...deliveries,
      { id: foreign.id, organization_id: owner.organizationId },
    ]);
    expect([...loaded.keys()].sort()).toEqual(deliveries.map((each) => each.id).sort());
    expect(loaded.get(deliveries[0]!.id)).toMatchObject({
      delivery: { status: 'queued', attempts: 0 },
      send: { content: { text: 'hello', media: [] } },
      sender: { id: owner.senderId, status: 'WORKING', updated_at: expect.any(Date) as Date },
    });
  });

  it('claims the queued deliveries of a batch once each, starting each send once', async () => {
    const owner = await organizationWithSender();
    const first = await send(owner, 3);
    const second = await send(owner, 2);
    const refs = [...first.deliveries, ...second.deliveries];

    const claimed = await claimDeliveries(database.db, [...refs, refs[0]!]);
    expect([...claimed.values()]).toEqual([1, 1, 1, 1, 1]);
    expect(await claimDeliveries(database.db, refs)).toEqual(new Map());
    for (const each of refs) {
      expect(await statusOf('deliveries', each.id)).toBe('sending');
      expect(await eventsOf('delivery_id', each.id)).toEqual([
        { type: 'delivery.sending', payload: { attempt: 1 } },
      ]);
    }
    for (const sendId of [first.sendId, second.sendId]) {
      expect(await statusOf('sends', sendId)).toBe('sending');
      expect((await eventsOf('send_id', sendId)).map((event) => event.type)).toContain(
        'send.sending',
      );
    }
  });

  it('does not claim a delivery named with another organization', async () => {
    const owner = await organizationWithSender();
    const other = await organizationWithSender();
    const { deliveries } = await send(owner, 1);
    const forged = { ...deliveries[0]!, organization_id: other.organizationId };
    expect(await claimDeliveries(database.db, [forged])).toEqual(new Map());
    expect(await statusOf('deliveries', deliveries[0]!.id)).toBe('queued');
  });

  it('records sent and failed outcomes of several sends at once, with each send status', async () => {
    const owner = await organizationWithSender();
    const allSent = await send(owner, 2);
    const mixed = await send(owner, 2);
    const unfinished = await send(owner, 2);
    const attempts = await claimAll([
      ...allSent.deliveries,
      ...mixed.deliveries,
      unfinished.deliveries[0]!,
    ]);
    const [a, b, c, d, e] = attempts as [
      AttemptRef,
      AttemptRef,
      AttemptRef,
      AttemptRef,
      AttemptRef,
    ];
    const error = { code: 'invalid_recipient', message: 'no such chat' };
    const outcomes: AttemptOutcome[] = [
      { attempt: a, status: 'sent', providerMessageId: 'p-a' },
      { attempt: b, status: 'sent', providerMessageId: 'p-b' },
      { attempt: c, status: 'sent', providerMessageId: 'p-c' },
      { attempt: d, status: 'failed', error },
      { attempt: e, status: 'sent', providerMessageId: 'p-e' },
      // An outcome of an attempt that is not the current one changes nothing.
      { attempt: { ...e, attempt: 7 }, status: 'failed', error },
    ];

    const moved = await recordOutcomes(database.db, outcomes);
    expect([...moved].sort()).toEqual([a, b, c, d, e].map((each) => each.id).sort());
    expect(await statusOf('sends', allSent.sendId)).toBe('sent');
    expect(await statusOf('sends', mixed.sendId)).toBe('partially_failed');
    expect(await statusOf('sends', unfinished.sendId)).toBe('sending');
    const failed = await database.db
      .selectFrom('deliveries')
      .selectAll()
      .where('id', '=', d.id)
      .executeTakeFirstOrThrow();
    expect(failed).toMatchObject({
      status: 'failed',
      error_code: 'invalid_recipient',
      error_message: 'no such chat',
      provider_message_id: null,
      failed_at: expect.any(Date) as Date,
    });
    expect((await eventsOf('delivery_id', a.id)).at(-1)).toEqual({
      type: 'delivery.sent',
      payload: { attempt: 1, provider_message_id: 'p-a' },
    });
    expect((await eventsOf('send_id', mixed.sendId)).map((event) => event.type)).toContain(
      'send.partially_failed',
    );
    expect(await recordOutcomes(database.db, outcomes)).toEqual(new Set());
  });

  it('records outcomes of overlapping sends from concurrent batches: no deadlock, no stale status', async () => {
    const owner = await organizationWithSender();
    for (let round = 0; round < 5; round += 1) {
      const sends = await Promise.all(Array.from({ length: 6 }, () => send(owner, 12)));
      const attempts = await claimAll(sends.flatMap((each) => each.deliveries));
      // Each batch takes deliveries of every send, in its own order: batches that locked their
      // sends in their own order would wait on each other in a cycle, and batches that did not
      // lock them would count each other's deliveries before they commit.
      const batches = Array.from({ length: 12 }, (_, k) =>
        attempts
          .filter((_, index) => index % 12 === k)
          .sort((x, y) => (k % 2 === 0 ? 1 : -1) * x.send_id.localeCompare(y.send_id)),
      );
      const moved = await Promise.all(
        batches.map((batch) =>
          recordOutcomes(
            database.db,
            batch.map((attempt) => ({ attempt, status: 'sent', providerMessageId: attempt.id })),
          ),
        ),
      );
      expect(moved.reduce((sum, each) => sum + each.size, 0)).toBe(72);
      for (const each of sends) {
        expect(await statusOf('sends', each.sendId)).toBe('sent');
        const sendEvents = (await eventsOf('send_id', each.sendId)).filter((event) =>
          event.type.startsWith('send.'),
        );
        expect(sendEvents.map((event) => event.type)).toEqual([
          'send.accepted',
          'send.sending',
          'send.sent',
        ]);
      }
    }
  });
});
