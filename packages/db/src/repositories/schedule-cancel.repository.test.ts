import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CredentialsCipher, SANDBOX_RATE_LIMIT } from '@outbound/domain';
import { createTestDatabase, type TestDatabase } from '@outbound/test/harness';
import { claimDelivery } from './deliveries.repository.ts';
import { createOrganization } from './organizations.repository.ts';
import { cancelSchedule } from './schedule-cancel.repository.ts';
import { createSchedule, findSchedule, type Schedule } from './schedules.repository.ts';
import { createSender } from './senders.repository.ts';
import { createSend } from './sends.repository.ts';

describe('cancelSchedule', () => {
  let database: TestDatabase;
  const cipher = new CredentialsCipher(randomBytes(32).toString('base64'));

  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database.drop();
  });

  async function scheduleWithOccurrences(name: string, occurrences: number) {
    const org = await createOrganization(database.db, name);
    const sender = await createSender(database.db, cipher, {
      organizationId: org.id,
      channel: 'whatsapp',
      provider: 'sandbox',
      name,
      rateLimit: SANDBOX_RATE_LIMIT,
    });
    const { schedule } = await createSchedule(database.db, {
      organizationId: org.id,
      senderId: sender.id,
      actorUserId: 'user-1',
      groupIds: [],
      content: { text: 'hello', media: [] },
      firstRunAt: new Date(Date.now() + 60_000),
      intervalMs: 60_000,
      maxOccurrences: 10,
    });
    const sends = [];
    for (let occurrence = 1; occurrence <= occurrences; occurrence += 1) {
      sends.push(
        await createSend(database.db, {
          organizationId: org.id,
          senderId: sender.id,
          channel: 'whatsapp',
          origin: 'schedule_occurrence',
          content: { text: 'hello', media: [] },
          recipients: [{ recipient: `a${occurrence}@g.us` }, { recipient: `b${occurrence}@g.us` }],
          scheduleId: schedule.id,
          occurrence,
        }),
      );
    }
    // An unrelated send of the same organization, which a cancel must not touch.
    const unrelated = await createSend(database.db, {
      organizationId: org.id,
      senderId: sender.id,
      channel: 'whatsapp',
      origin: 'whatsapp_send',
      content: { text: 'other', media: [] },
      recipients: [{ recipient: 'other@g.us' }],
    });
    return { organizationId: org.id, schedule, sends, unrelated };
  }

  const statusOf = async (table: 'sends' | 'deliveries', id: string) =>
    (
      await database.db
        .selectFrom(table)
        .select('status')
        .where('id', '=', id)
        .executeTakeFirstOrThrow()
    ).status;

  const eventsOf = (scheduleId: string) =>
    database.db
      .selectFrom('events')
      .select(['type', 'send_id', 'delivery_id', 'payload'])
      .where((eb) =>
        eb.or([
          eb('schedule_id', '=', scheduleId),
          eb(
            'send_id',
            'in',
            eb.selectFrom('sends').select('id').where('schedule_id', '=', scheduleId),
          ),
        ]),
      )
      .orderBy('id')
      .execute();

  it('cancels the schedule and its queued deliveries, leaves sending ones to finish', async () => {
    const { organizationId, schedule, sends, unrelated } = await scheduleWithOccurrences('c1', 2);
    const [first, second] = sends;
    const sending = first!.deliveries[0]!;
    await claimDelivery(database.db, {
      id: sending.id,
      organization_id: organizationId,
      send_id: first!.send.id,
    });
    const before = (await eventsOf(schedule.id)).length;

    const result = await cancelSchedule(database.db, organizationId, schedule.id);
    expect(result).toMatchObject({
      changed: true,
      canceledDeliveries: 3,
      schedule: { id: schedule.id, status: 'canceled', next_run_at: null },
    });
    expect(result!.schedule.canceled_at).toBeInstanceOf(Date);

    expect(await statusOf('deliveries', sending.id)).toBe('sending');
    expect(await statusOf('deliveries', first!.deliveries[1]!.id)).toBe('canceled');
    expect(await statusOf('sends', first!.send.id)).toBe('sending');
    for (const delivery of second!.deliveries) {
      expect(await statusOf('deliveries', delivery.id)).toBe('canceled');
    }
    expect(await statusOf('sends', second!.send.id)).toBe('canceled');
    expect(await statusOf('deliveries', unrelated.deliveries[0]!.id)).toBe('queued');
    expect(await statusOf('sends', unrelated.send.id)).toBe('queued');

    const events = (await eventsOf(schedule.id)).slice(before);
    expect(events.filter((e) => e.type === 'schedule.canceled')).toEqual([
      {
        type: 'schedule.canceled',
        send_id: null,
        delivery_id: null,
        payload: { occurrences_made: 0 },
      },
    ]);
    const canceledIds = [first!.deliveries[1]!.id, ...second!.deliveries.map((d) => d.id)];
    const deliveryEvents = events.filter((e) => e.type === 'delivery.canceled');
    expect(deliveryEvents.map((e) => e.delivery_id).sort()).toEqual(canceledIds.sort());
    for (const event of deliveryEvents) {
      expect(event.payload).toEqual({ reason: 'schedule_canceled', schedule_id: schedule.id });
    }
    expect(events.filter((e) => e.type === 'send.canceled').map((e) => e.send_id)).toEqual([
      second!.send.id,
    ]);
  });

  it('is idempotent, and a second call still cancels deliveries queued since', async () => {
    const { organizationId, schedule } = await scheduleWithOccurrences('c2', 1);
    expect(await cancelSchedule(database.db, organizationId, schedule.id)).toMatchObject({
      changed: true,
      canceledDeliveries: 2,
    });
    const eventCount = (await eventsOf(schedule.id)).length;
    const again = await cancelSchedule(database.db, organizationId, schedule.id);
    expect(again).toMatchObject({ changed: false, canceledDeliveries: 0 });
    expect(again!.schedule.status).toBe('canceled');
    expect(await eventsOf(schedule.id)).toHaveLength(eventCount);

    // An occurrence committed by a firing that raced the cancel.
    const late = await createSend(database.db, {
      organizationId,
      senderId: schedule.sender_id,
      channel: 'whatsapp',
      origin: 'schedule_occurrence',
      content: { text: 'late', media: [] },
      recipients: [{ recipient: 'late@g.us' }],
      scheduleId: schedule.id,
      occurrence: 2,
    });
    expect(await cancelSchedule(database.db, organizationId, schedule.id)).toMatchObject({
      changed: false,
      canceledDeliveries: 1,
    });
    expect(await statusOf('sends', late.send.id)).toBe('canceled');
  });

  it('answers a completed schedule unchanged, and another organization with nothing', async () => {
    const { organizationId, schedule, sends } = await scheduleWithOccurrences('c3', 1);
    await database.db
      .updateTable('schedules')
      .set({ status: 'completed', next_run_at: null })
      .where('id', '=', schedule.id)
      .execute();
    const completed = (await findSchedule(database.db, organizationId, schedule.id)) as Schedule;

    expect(await cancelSchedule(database.db, organizationId, schedule.id)).toEqual({
      schedule: completed,
      changed: false,
      canceledDeliveries: 0,
    });
    expect(await statusOf('deliveries', sends[0]!.deliveries[0]!.id)).toBe('queued');

    const stranger = await createOrganization(database.db, 'stranger');
    expect(await cancelSchedule(database.db, stranger.id, schedule.id)).toBeUndefined();
    expect(await cancelSchedule(database.db, organizationId, randomUUID())).toBeUndefined();
  });

  it('cancels a paused schedule, inside a caller transaction too', async () => {
    const { organizationId, schedule } = await scheduleWithOccurrences('c4', 0);
    await database.db
      .updateTable('schedules')
      .set({ status: 'paused' })
      .where('id', '=', schedule.id)
      .execute();
    const result = await database.db
      .transaction()
      .execute((trx) => cancelSchedule(trx, organizationId, schedule.id));
    expect(result).toMatchObject({ changed: true, schedule: { status: 'canceled' } });
    expect((await findSchedule(database.db, organizationId, schedule.id))?.status).toBe('canceled');
  });
});
