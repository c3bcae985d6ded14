import { createSend } from '@outbound/db';
import { closeQueues, createQueues, type Queues } from '@outbound/queue';
import { createTestDatabase, createTestRedis, type TestDatabase } from '@outbound/test/harness';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readError } from '../test-support/error-body.ts';
import {
  seedGroups,
  seedOrganization,
  seedSession,
  type SeededOrganization,
} from '../test-support/seed.ts';
import { startTestApp, type TestApp } from '../test-support/test-app.ts';
import { scheduleResponseSchema, type ScheduleResponse } from './schedules.schema.ts';
import { scheduleAcceptedSchema, type ScheduleAccepted } from './sends.schema.ts';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

const redis = createTestRedis();
let database: TestDatabase;
let api: TestApp;
/** Reads Redis on its own connection, so what the tests see is what Redis holds. */
let readerConnection: Redis;
let reader: Queues;
let acme: SeededOrganization;
let other: SeededOrganization;
let sessionId: string;
let groupIds: string[];
let keyCounter = 0;

beforeAll(async () => {
  database = await createTestDatabase();
  api = await startTestApp(database, redis);
  readerConnection = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  reader = createQueues({ connection: readerConnection, prefix: redis.prefix });
  acme = await seedOrganization(database.db, 'acme');
  other = await seedOrganization(database.db, 'other');
  sessionId = await seedSession(database.db, acme.organizationId);
  groupIds = await seedGroups(database.db, acme.organizationId, [sessionId], 2);
});

afterAll(async () => {
  await closeQueues(reader);
  readerConnection.disconnect();
  await api.stop();
  await database.drop();
  await redis.clear();
});

function postSend(body: unknown): Promise<Response> {
  return fetch(`${api.url}/v2/outbound/sends`, {
    method: 'POST',
    headers: { ...acme.headers, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
}

/** A daily schedule whose first run is an hour ahead. */
async function createDailySchedule(): Promise<ScheduleAccepted['schedule']> {
  keyCounter += 1;
  const response = await postSend({
    session_id: sessionId,
    group_ids: groupIds,
    idempotency_key: `cancel-${keyCounter}`,
    text: 'Good morning',
    schedule: { first_run_at_ms: Date.now() + HOUR_MS, interval_ms: DAY_MS, max_occurrences: 3 },
  });
  if (response.status !== 202) expect(await response.text()).toBe('a 202');
  return scheduleAcceptedSchema.strict().parse(await response.json()).schedule;
}

function scheduleRequest(
  method: 'GET' | 'DELETE',
  scheduleId: string,
  org: SeededOrganization = acme,
): Promise<Response> {
  return fetch(`${api.url}/v2/outbound/schedules/${scheduleId}`, { method, headers: org.headers });
}

async function shownSchedule(response: Response): Promise<ScheduleResponse['schedule']> {
  if (response.status !== 200) expect(await response.text()).toBe('a 200');
  const shown = scheduleResponseSchema.strict().parse(await response.json());
  expect(shown.request_id).toBe(response.headers.get('x-request-id'));
  return shown.schedule;
}

async function eventTypes(scheduleId: string): Promise<string[]> {
  const rows = await database.db
    .selectFrom('events')
    .select('type')
    .where('schedule_id', '=', scheduleId)
    .orderBy('id')
    .execute();
  return rows.map((row) => row.type);
}

interface StoredSend {
  sendId: string;
  deliveryIds: string[];
}

/** A send as the dispatcher writes it for an occurrence (or, without a schedule, a plain one). */
async function storeSend(
  scheduleId: string | null,
  occurrence: number | null,
  toGroups: readonly string[],
): Promise<StoredSend> {
  const created = await createSend(database.db, {
    organizationId: acme.organizationId,
    senderId: sessionId,
    channel: 'whatsapp',
    origin: scheduleId === null ? 'whatsapp_send' : 'schedule_occurrence',
    content: { text: 'Good morning', media: [] },
    recipients: toGroups.map((groupId) => ({ recipient: `${groupId}@g.us`, groupId })),
    scheduleId,
    occurrence,
  });
  return {
    sendId: created.send.id,
    deliveryIds: created.deliveries.map((delivery) => delivery.id),
  };
}

/** Each row's status, by id. */
async function statuses(
  table: 'sends' | 'deliveries',
  ids: readonly string[],
): Promise<Record<string, string>> {
  const rows = await database.db
    .selectFrom(table)
    .select(['id', 'status'])
    .where('id', 'in', [...ids])
    .execute();
  return Object.fromEntries(rows.map((row) => [row.id, row.status]));
}

describe('DELETE /v2/outbound/schedules/{schedule_id}', () => {
  it('cancels it: no next run, and its job scheduler is removed from Redis', async () => {
    const created = await createDailySchedule();
    expect(await reader.scheduler.getJobScheduler(created.workflow_id)).toBeDefined();
    const canceled = await shownSchedule(await scheduleRequest('DELETE', created.schedule_id));
    expect(canceled).toMatchObject({
      schedule_id: created.schedule_id,
      status: 'canceled',
      next_run_at_ms: null,
      canceled_at_ms: expect.any(Number) as number,
    });
    expect(await reader.scheduler.getJobScheduler(created.workflow_id)).toBeUndefined();
    const shown = await shownSchedule(await scheduleRequest('GET', created.schedule_id));
    expect(shown).toEqual(canceled);
    expect(await eventTypes(created.schedule_id)).toEqual([
      'schedule.created',
      'schedule.canceled',
    ]);
  });

  it('answers a second DELETE with the same 200 and records nothing more', async () => {
    const created = await createDailySchedule();
    const first = await shownSchedule(await scheduleRequest('DELETE', created.schedule_id));
    const again = await shownSchedule(await scheduleRequest('DELETE', created.schedule_id));
    expect(again).toEqual(first);
    expect(await eventTypes(created.schedule_id)).toEqual([
      'schedule.created',
      'schedule.canceled',
    ]);
  });

  it('cancels the queued deliveries of its sends and leaves those being sent', async () => {
    const created = await createDailySchedule();
    const first = await storeSend(created.schedule_id, 1, groupIds);
    const second = await storeSend(created.schedule_id, 2, groupIds.slice(0, 1));
    const unrelated = await storeSend(null, null, groupIds.slice(0, 1));
    const [firstQueued, firstSending] = first.deliveryIds as [string, string];
    await database.db
      .updateTable('deliveries')
      .set({ status: 'sending' })
      .where('id', '=', firstSending)
      .execute();

    const canceled = await shownSchedule(await scheduleRequest('DELETE', created.schedule_id));
    expect(canceled.send_ids).toEqual([first.sendId, second.sendId]);
    const [secondQueued] = second.deliveryIds as [string];
    const [unrelatedQueued] = unrelated.deliveryIds as [string];
    expect(
      await statuses('deliveries', [...first.deliveryIds, secondQueued, unrelatedQueued]),
    ).toEqual({
      [firstQueued]: 'canceled',
      [firstSending]: 'sending',
      [secondQueued]: 'canceled',
      [unrelatedQueued]: 'queued',
    });
    expect(await statuses('sends', [first.sendId, second.sendId, unrelated.sendId])).toEqual({
      [first.sendId]: 'sending',
      [second.sendId]: 'canceled',
      [unrelated.sendId]: 'queued',
    });
    const canceledEvents = await database.db
      .selectFrom('events')
      .select('delivery_id')
      .where('type', '=', 'delivery.canceled')
      .where('send_id', 'in', [first.sendId, second.sendId, unrelated.sendId])
      .orderBy('delivery_id')
      .execute();
    expect(canceledEvents.map((event) => event.delivery_id)).toEqual(
      [firstQueued, secondQueued].sort(),
    );
  });

  it("answers another organization's schedule with 404 and leaves it active", async () => {
    const created = await createDailySchedule();
    const theirs = await scheduleRequest('DELETE', created.schedule_id, other);
    expect(theirs.status).toBe(404);
    expect((await readError(theirs)).error.code).toBe('not_found');
    expect((await shownSchedule(await scheduleRequest('GET', created.schedule_id))).status).toBe(
      'active',
    );
    expect(await reader.scheduler.getJobScheduler(created.workflow_id)).toBeDefined();
  });

  it('answers a completed schedule with 409 conflict and leaves it completed', async () => {
    const created = await createDailySchedule();
    await database.db
      .updateTable('schedules')
      .set({ status: 'completed', occurrences_made: 3, next_run_at: null })
      .where('id', '=', created.schedule_id)
      .execute();
    const response = await scheduleRequest('DELETE', created.schedule_id);
    expect(response.status).toBe(409);
    const { error } = await readError(response);
    expect(error).toMatchObject({
      code: 'conflict',
      details: { schedule_id: created.schedule_id, status: 'completed' },
    });
    const shown = await shownSchedule(await scheduleRequest('GET', created.schedule_id));
    expect(shown).toMatchObject({ status: 'completed', canceled_at_ms: null });
  });
});
