import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CredentialsCipher } from '@outbound/domain';
import { createTestDatabase, type TestDatabase } from '@outbound/test/harness';
import type { Delivery } from '../database.ts';
import {
  claimDelivery,
  findStaleQueuedDeliveries,
  findStuckSendingDeliveries,
  loadDeliveryForSending,
  markDeliveryFailed,
  markDeliverySent,
  requeueDelivery,
  resetStuckDelivery,
  sendStatusOf,
  type DeliveryRef,
} from './deliveries.repository.ts';
import { createGroup } from './groups.repository.ts';
import { createOrganization } from './organizations.repository.ts';
import { createSend } from './sends.repository.ts';
import { createSender } from './senders.repository.ts';

describe('deliveries repository', () => {
  let database: TestDatabase;
  const cipher = new CredentialsCipher(randomBytes(32).toString('base64'));

  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database.drop();
  });

  async function send(recipients: number, options: { groupName?: string } = {}) {
    const organization = await createOrganization(database.db, 'deliveries');
    const sender = await createSender(database.db, cipher, {
      organizationId: organization.id,
      channel: 'whatsapp',
      provider: 'sandbox',
      name: 'session',
      status: 'STOPPED',
      rateLimit: { max: 7, window_ms: 3_000 },
      settings: { note: 'kept' },
    });
    const group =
      options.groupName === undefined
        ? undefined
        : await createGroup(database.db, {
            organizationId: organization.id,
            chatId: 'g1@g.us',
            name: options.groupName,
          });
    const created = await createSend(database.db, {
      organizationId: organization.id,
      senderId: sender.id,
      channel: 'whatsapp',
      origin: 'whatsapp_send',
      content: { text: 'hello', media: [] },
      recipients: Array.from({ length: recipients }, (_, i) => ({
        recipient: `chat-${i}@g.us`,
        ...(group === undefined ? {} : { groupId: group.id }),
      })),
    });
    return { organizationId: organization.id, sender, ...created };
  }

  const row = (id: string) =>
    database.db.selectFrom('deliveries').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
  const sendStatus = async (id: string) =>
    (
      await database.db
        .selectFrom('sends')
        .select('status')
        .where('id', '=', id)
        .executeTakeFirstOrThrow()
    ).status;
  const eventTypes = async (deliveryId: string) =>
    (
      await database.db
        .selectFrom('events')
        .select('type')
        .where('delivery_id', '=', deliveryId)
        .orderBy('id')
        .execute()
    ).map((event) => event.type);
  const ref = (delivery: Delivery): DeliveryRef => ({
    id: delivery.id,
    organization_id: delivery.organization_id,
    send_id: delivery.send_id,
  });

  it('loads a delivery with its send, its sender and its group name, within its organization', async () => {
    const {
      organizationId,
      sender,
      send: created,
      deliveries,
    } = await send(1, {
      groupName: 'Team',
    });
    const loaded = await loadDeliveryForSending(database.db, organizationId, deliveries[0]!.id);
    expect(loaded).toMatchObject({
      delivery: { id: deliveries[0]!.id, status: 'queued', recipient: 'chat-0@g.us', attempts: 0 },
      send: {
        id: created.id,
        channel: 'whatsapp',
        status: 'queued',
        content: { text: 'hello', media: [] },
      },
      sender: {
        id: sender.id,
        provider: 'sandbox',
        role: 'sending',
        status: 'STOPPED',
        settings: { note: 'kept' },
        rate_limit_max: 7,
        rate_limit_window_ms: 3_000,
      },
      groupName: 'Team',
    });
    expect(loaded!.delivery).not.toHaveProperty('send_content');
    const other = await createOrganization(database.db, 'other');
    expect(await loadDeliveryForSending(database.db, other.id, deliveries[0]!.id)).toBeUndefined();
  });

  it('claims a queued delivery once, counting the attempt and starting the send', async () => {
    const { send: created, deliveries } = await send(2);
    const delivery = deliveries[0]!;
    expect(await claimDelivery(database.db, ref(delivery))).toEqual({ attempt: 1 });
    expect(await claimDelivery(database.db, ref(delivery))).toBeUndefined();
    const claimed = await row(delivery.id);
    expect(claimed).toMatchObject({ status: 'sending', attempts: 1 });
    expect(claimed.claimed_at).toBeInstanceOf(Date);
    expect(await sendStatus(created.id)).toBe('sending');
    expect(await eventTypes(delivery.id)).toEqual(['delivery.sending']);
  });

  it('records sent only for the attempt that holds the claim, and then the send is sent', async () => {
    const { send: created, deliveries } = await send(1);
    const delivery = ref(deliveries[0]!);
    const { attempt } = (await claimDelivery(database.db, delivery))!;
    expect(await markDeliverySent(database.db, { ...delivery, attempt: attempt + 1 }, 'x')).toBe(
      false,
    );
    expect(await markDeliverySent(database.db, { ...delivery, attempt }, 'provider-1')).toBe(true);
    expect(await markDeliverySent(database.db, { ...delivery, attempt }, 'provider-2')).toBe(false);
    const sent = await row(delivery.id);
    expect(sent).toMatchObject({ status: 'sent', provider_message_id: 'provider-1' });
    expect(sent.sent_at).toBeInstanceOf(Date);
    expect(await sendStatus(created.id)).toBe('sent');
    expect(await eventTypes(delivery.id)).toEqual(['delivery.sending', 'delivery.sent']);
  });

  it('retries with the error kept, then fails; the send is partially failed', async () => {
    const { send: created, deliveries } = await send(2);
    const [first, second] = deliveries.map(ref) as [DeliveryRef, DeliveryRef];
    const one = (await claimDelivery(database.db, first))!;
    const error = { code: 'timeout', message: 'no answer in 15 s' };
    expect(await requeueDelivery(database.db, { ...first, ...one }, error)).toBe(true);
    expect(await requeueDelivery(database.db, { ...first, ...one }, error)).toBe(false);
    expect(await row(first.id)).toMatchObject({
      status: 'queued',
      attempts: 1,
      error_code: 'timeout',
      error_message: 'no answer in 15 s',
    });
    const two = (await claimDelivery(database.db, first))!;
    expect(two.attempt).toBe(2);
    const failure = { code: 'invalid_recipient', message: 'no such chat' };
    expect(await markDeliveryFailed(database.db, { ...first, ...two }, failure)).toBe(true);
    expect(await sendStatus(created.id)).toBe('sending');

    const other = (await claimDelivery(database.db, second))!;
    await markDeliverySent(database.db, { ...second, ...other }, 'p');
    expect(await sendStatus(created.id)).toBe('partially_failed');
    const failed = await row(first.id);
    expect(failed).toMatchObject({ status: 'failed', error_code: 'invalid_recipient' });
    expect(failed.failed_at).toBeInstanceOf(Date);
    expect(await eventTypes(first.id)).toEqual([
      'delivery.sending',
      'delivery.retrying',
      'delivery.sending',
      'delivery.failed',
    ]);
  });

  it('settles the send right when all its deliveries finish at once', async () => {
    const { send: created, deliveries } = await send(30);
    const claims = await Promise.all(
      deliveries.map(async (delivery) => ({
        ...ref(delivery),
        ...(await claimDelivery(database.db, ref(delivery)))!,
      })),
    );
    await Promise.all(
      claims.map((claim, i) =>
        i === 0
          ? markDeliveryFailed(database.db, claim, { code: 'invalid_recipient', message: 'x' })
          : markDeliverySent(database.db, claim, `p-${i}`),
      ),
    );
    expect(await sendStatus(created.id)).toBe('partially_failed');
    const statusEvents = await database.db
      .selectFrom('events')
      .select('type')
      .where('send_id', '=', created.id)
      .where('delivery_id', 'is', null)
      .orderBy('id')
      .execute();
    expect(statusEvents.map((event) => event.type)).toEqual([
      'send.accepted',
      'send.sending',
      'send.partially_failed',
    ]);
  });

  it('leaves a canceled send canceled', async () => {
    const { send: created, deliveries } = await send(1);
    await database.db
      .updateTable('sends')
      .set({ status: 'canceled' })
      .where('id', '=', created.id)
      .execute();
    const claim = {
      ...ref(deliveries[0]!),
      ...(await claimDelivery(database.db, ref(deliveries[0]!)))!,
    };
    await markDeliverySent(database.db, claim, 'p');
    expect(await sendStatus(created.id)).toBe('canceled');
  });

  it('derives a send status from delivery counts', () => {
    const none = { queued: 0, sending: 0, sent: 0, failed: 0, canceled: 0 };
    expect(sendStatusOf({ ...none, queued: 3 })).toBe('queued');
    expect(sendStatusOf({ ...none, queued: 2, sent: 1 })).toBe('sending');
    expect(sendStatusOf({ ...none, sending: 1 })).toBe('sending');
    expect(sendStatusOf({ ...none, sent: 2, canceled: 1 })).toBe('sent');
    expect(sendStatusOf({ ...none, sent: 2, failed: 1 })).toBe('partially_failed');
    expect(sendStatusOf({ ...none, failed: 2 })).toBe('failed');
    expect(sendStatusOf({ ...none, canceled: 2 })).toBe('canceled');
  });

  it('pages through queued deliveries untouched since a threshold, in id order', async () => {
    const { deliveries } = await send(5);
    const ids = deliveries.map((delivery) => delivery.id);
    await database.db
      .updateTable('deliveries')
      .set({ updated_at: sql<Date>`now() - interval '1 hour'` })
      .where('id', 'in', ids.slice(0, 4))
      .execute();
    await claimDelivery(database.db, ref(deliveries[3]!));
    const updatedBefore = new Date(Date.now() - 60_000);
    const first = await findStaleQueuedDeliveries(database.db, { updatedBefore, limit: 2 });
    const mine = (rows: { id: string }[]) => rows.filter((r) => ids.includes(r.id));
    const second = await findStaleQueuedDeliveries(database.db, {
      updatedBefore,
      limit: 100,
      afterId: first[first.length - 1]!.id,
    });
    expect(first).toHaveLength(2);
    expect([...mine(first), ...mine(second)].map((r) => r.id)).toEqual(ids.slice(0, 3));
    expect(first[0]).toHaveProperty('due_at');
  });

  it('requeues a stuck sending delivery, flagged, each time until its attempts run out, then fails it', async () => {
    const { send: created, deliveries } = await send(2);
    const stuck = ref(deliveries[0]!);
    const fresh = ref(deliveries[1]!);
    const maxAttempts = 3;
    await claimDelivery(database.db, stuck);
    await claimDelivery(database.db, fresh);
    const stale = () =>
      database.db
        .updateTable('deliveries')
        .set({ claimed_at: sql<Date>`now() - interval '10 minutes'` })
        .where('id', '=', stuck.id)
        .execute();
    await stale();
    const claimedBefore = new Date(Date.now() - 60_000);
    const options = { claimedBefore, maxAttempts };
    const found = await findStuckSendingDeliveries(database.db, { claimedBefore, limit: 100 });
    expect(found.map((r) => r.id)).toContain(stuck.id);
    expect(found.map((r) => r.id)).not.toContain(fresh.id);

    expect(await resetStuckDelivery(database.db, fresh, options)).toBe('untouched');
    expect(await resetStuckDelivery(database.db, stuck, options)).toBe('requeued');
    expect(await resetStuckDelivery(database.db, stuck, options)).toBe('untouched');
    expect(await row(stuck.id)).toMatchObject({ status: 'queued', possible_duplicate: true });

    // Stuck again with an attempt left: re-driven again, not failed.
    await claimDelivery(database.db, stuck);
    await stale();
    expect(await resetStuckDelivery(database.db, stuck, options)).toBe('requeued');
    expect(await row(stuck.id)).toMatchObject({ status: 'queued', attempts: 2 });

    await claimDelivery(database.db, stuck);
    await stale();
    expect(await resetStuckDelivery(database.db, stuck, options)).toBe('failed');
    const failed = await row(stuck.id);
    expect(failed).toMatchObject({
      status: 'failed',
      attempts: maxAttempts,
      possible_duplicate: true,
      error_code: 'stuck_in_sending',
    });
    expect(failed.error_message).toMatch(/attempts are exhausted.*outcome .* is unknown/);
    expect(await eventTypes(stuck.id)).toEqual([
      'delivery.sending',
      'delivery.reset',
      'delivery.sending',
      'delivery.reset',
      'delivery.sending',
      'delivery.failed',
    ]);
    expect(await sendStatus(created.id)).toBe('sending');
  });

  it('fails a stuck delivery at once when it was claimed on its last attempt', async () => {
    const { deliveries } = await send(1);
    const stuck = ref(deliveries[0]!);
    await claimDelivery(database.db, stuck);
    await database.db
      .updateTable('deliveries')
      .set({ claimed_at: sql<Date>`now() - interval '10 minutes'` })
      .where('id', '=', stuck.id)
      .execute();
    const options = { claimedBefore: new Date(Date.now() - 60_000), maxAttempts: 1 };
    expect(await resetStuckDelivery(database.db, stuck, options)).toBe('failed');
    expect(await row(stuck.id)).toMatchObject({
      status: 'failed',
      attempts: 1,
      possible_duplicate: true,
      error_code: 'stuck_in_sending',
    });
  });
});
