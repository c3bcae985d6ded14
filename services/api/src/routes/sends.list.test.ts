import { createSend } from '@outbound/db';
import { createTestDatabase, createTestRedis, type TestDatabase } from '@outbound/test/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readError } from '../test-support/error-body.ts';
import {
  seedGroups,
  seedOrganization,
  seedSession,
  type SeededOrganization,
} from '../test-support/seed.ts';
import { startTestApp, type TestApp } from '../test-support/test-app.ts';
import { scheduleAcceptedSchema, sendPageSchema, type SendPage } from './sends.schema.ts';

const OCCURRENCES = 5;

const redis = createTestRedis();
let database: TestDatabase;
let api: TestApp;
let acme: SeededOrganization;
let other: SeededOrganization;
let sessionId: string;
let groupId: string;
let scheduleId: string;
/** The schedule's sends, occurrence 1 first. */
let occurrenceIds: string[];
/** Every acme send, oldest first: a plain send, the occurrences, another plain send. */
let acmeSendIds: string[];
let otherSendId: string;

beforeAll(async () => {
  database = await createTestDatabase();
  api = await startTestApp(database, redis);
  acme = await seedOrganization(database.db, 'acme');
  other = await seedOrganization(database.db, 'other');
  sessionId = await seedSession(database.db, acme.organizationId);
  [groupId] = (await seedGroups(database.db, acme.organizationId, [sessionId], 1)) as [string];
  scheduleId = await createScheduleThroughApi();

  const before = await plainSend(acme.organizationId, sessionId);
  occurrenceIds = [];
  for (let occurrence = 1; occurrence <= OCCURRENCES; occurrence += 1) {
    occurrenceIds.push(await occurrenceSend(occurrence));
  }
  const after = await plainSend(acme.organizationId, sessionId);
  acmeSendIds = [before, ...occurrenceIds, after];
  const otherSession = await seedSession(database.db, other.organizationId);
  otherSendId = await plainSend(other.organizationId, otherSession);
});

afterAll(async () => {
  await api.stop();
  await database.drop();
  await redis.clear();
});

async function createScheduleThroughApi(): Promise<string> {
  const response = await fetch(`${api.url}/v2/outbound/sends`, {
    method: 'POST',
    headers: { ...acme.headers, 'Content-Type': 'application/json' },
    body: JSON.stringify({
      session_id: sessionId,
      group_ids: [groupId],
      idempotency_key: 'daily',
      text: 'daily',
      schedule: { first_run_at_ms: Date.now() + 3_600_000, interval_ms: 86_400_000 },
    }),
  });
  expect(response.status).toBe(202);
  return scheduleAcceptedSchema.parse(await response.json()).schedule.schedule_id;
}

/** An occurrence's send, as the dispatcher writes it when the schedule fires. */
async function occurrenceSend(occurrence: number): Promise<string> {
  const created = await createSend(database.db, {
    organizationId: acme.organizationId,
    senderId: sessionId,
    channel: 'whatsapp',
    origin: 'schedule_occurrence',
    content: { text: 'daily', media: [] },
    recipients: [{ recipient: 'group@g.us', groupId }],
    scheduleId,
    occurrence,
  });
  return created.send.id;
}

async function plainSend(organizationId: string, senderId: string): Promise<string> {
  const created = await createSend(database.db, {
    organizationId,
    senderId,
    channel: 'whatsapp',
    origin: 'whatsapp_send',
    content: { text: 'now', media: [] },
    recipients: [{ recipient: 'group@g.us' }],
  });
  return created.send.id;
}

function listSends(
  query: Record<string, string>,
  org: SeededOrganization = acme,
): Promise<Response> {
  return fetch(`${api.url}/v2/outbound/sends?${new URLSearchParams(query).toString()}`, {
    headers: org.headers,
  });
}

async function page(query: Record<string, string>): Promise<SendPage> {
  const response = await listSends(query);
  if (response.status !== 200) expect(await response.text()).toBe('a 200');
  const body = sendPageSchema.strict().parse(await response.json());
  expect(body.request_id).toBe(response.headers.get('x-request-id'));
  return body;
}

/** Follows `next_cursor` until it is null; returns each page's send ids. */
async function allPages(query: Record<string, string>): Promise<string[][]> {
  const pages: string[][] = [];
  let cursor: string | null = null;
  do {
    const current = await page(cursor === null ? query : { ...query, cursor });
    pages.push(current.sends.map((send) => send.send_id));
    cursor = current.next_cursor;
  } while (cursor !== null && pages.length <= OCCURRENCES * 2);
  return pages;
}

async function expectInvalidQuery(query: Record<string, string>, path: string): Promise<string> {
  const response = await listSends(query);
  const { error } = await readError(response);
  expect({ status: response.status, code: error.code }).toEqual({
    status: 400,
    code: 'validation_failed',
  });
  expect(error.details).toMatchObject({ issues: [{ location: 'query', path }] });
  return error.message;
}

describe('GET /v2/outbound/sends?schedule_id=', () => {
  it("pages through a schedule's sends newest first, until next_cursor is null", async () => {
    const pages = await allPages({ schedule_id: scheduleId, limit: '2' });
    expect(pages).toEqual([
      [occurrenceIds[4], occurrenceIds[3]],
      [occurrenceIds[2], occurrenceIds[1]],
      [occurrenceIds[0]],
    ]);
    expect(new Set(pages.flat()).size).toBe(OCCURRENCES);
  });

  it('shows each send of the schedule with its occurrence', async () => {
    const { sends, next_cursor } = await page({ schedule_id: scheduleId });
    expect(next_cursor).toBeNull();
    expect(sends.map((send) => [send.occurrence, send.schedule_id, send.origin])).toEqual(
      [5, 4, 3, 2, 1].map((n) => [n, scheduleId, 'schedule_occurrence']),
    );
    expect(sends.every((send) => send.session_id === sessionId && send.status === 'queued')).toBe(
      true,
    );
  });

  it('ends with next_cursor null when the last page is exactly full', async () => {
    const first = await page({ schedule_id: scheduleId, limit: String(OCCURRENCES) });
    expect(first.sends).toHaveLength(OCCURRENCES);
    expect(first.next_cursor).toBeNull();
  });

  it("answers another organization's schedule with 404, as an unknown one", async () => {
    const theirs = await listSends({ schedule_id: scheduleId }, other);
    expect(theirs.status).toBe(404);
    expect((await readError(theirs)).error.message).toBe(`schedule ${scheduleId} not found`);
    const unknown = await listSends({ schedule_id: crypto.randomUUID() });
    expect(unknown.status).toBe(404);
  });

  it('refuses a schedule_id that is not a uuid', async () => {
    await expectInvalidQuery({ schedule_id: 'daily' }, 'schedule_id');
  });
});

describe('GET /v2/outbound/sends', () => {
  it("lists only the organization's sends, newest first, schedules' among them", async () => {
    const pages = await allPages({ limit: '3' });
    expect(pages.flat()).toEqual([...acmeSendIds].reverse());
    expect(pages.flat()).not.toContain(otherSendId);
  });

  it('pages 25 at a time unless told otherwise', async () => {
    const many = await seedOrganization(database.db, 'many');
    const manySession = await seedSession(database.db, many.organizationId);
    for (let i = 0; i < 26; i += 1) await plainSend(many.organizationId, manySession);
    const first = sendPageSchema.parse(await (await listSends({}, many)).json());
    expect(first.sends).toHaveLength(25);
    const cursor = first.next_cursor ?? '';
    const second = sendPageSchema.parse(await (await listSends({ cursor }, many)).json());
    expect(second.sends).toHaveLength(1);
    expect(second.next_cursor).toBeNull();
  });

  it.each([['0'], ['101'], ['-1'], ['2.5'], ['many']])('refuses limit=%s', async (limit) => {
    await expectInvalidQuery({ limit }, 'limit');
  });

  it('accepts limit=100', async () => {
    expect((await page({ limit: '100' })).sends).toHaveLength(acmeSendIds.length);
  });

  it.each([
    ['is not base64url JSON', 'not a cursor!'],
    ['holds no send id', Buffer.from(JSON.stringify({ after: 42 })).toString('base64url')],
    ['names a send that does not exist', cursorAfter(crypto.randomUUID())],
  ])('refuses a cursor that %s with 400', async (_, cursor) => {
    await expectInvalidQuery({ cursor }, 'cursor');
  });

  it("refuses a cursor naming another organization's send", async () => {
    await expectInvalidQuery({ cursor: cursorAfter(otherSendId) }, 'cursor');
  });

  it('refuses an unknown query parameter, naming it', async () => {
    expect(await expectInvalidQuery({ status: 'queued' }, '')).toContain('"status"');
  });
});

/** A cursor in the shape the API gives out, forged for `sendId`. */
function cursorAfter(sendId: string): string {
  return Buffer.from(JSON.stringify({ after: sendId })).toString('base64url');
}
