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
import {
  scheduleAcceptedSchema,
  sendAcceptedSchema,
  sendStatusResponseSchema,
} from './sends.schema.ts';

const redis = createTestRedis();
let database: TestDatabase;
let api: TestApp;
let acme: SeededOrganization;
let other: SeededOrganization;
let sessionId: string;
let groupIds: string[];
let otherSessionId: string;
let otherGroupId: string;
let keyCounter = 0;

beforeAll(async () => {
  database = await createTestDatabase();
  api = await startTestApp(database, redis);
  acme = await seedOrganization(database.db, 'acme');
  other = await seedOrganization(database.db, 'other');
  sessionId = await seedSession(database.db, acme.organizationId, { name: 'main' });
  groupIds = await seedGroups(database.db, acme.organizationId, [sessionId], 3);
  otherSessionId = await seedSession(database.db, other.organizationId, { name: 'theirs' });
  [otherGroupId] = (await seedGroups(database.db, other.organizationId, [otherSessionId], 1)) as [
    string,
  ];
});

afterAll(async () => {
  await api.stop();
  await database.drop();
  await redis.clear();
});

function nextKey(): string {
  keyCounter += 1;
  return `key-${keyCounter}`;
}

function postSend(
  body: unknown,
  org: SeededOrganization = acme,
  headers: Record<string, string> = {},
): Promise<Response> {
  return fetch(`${api.url}/v2/outbound/sends`, {
    method: 'POST',
    headers: { ...org.headers, 'Content-Type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

function validSend(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    session_id: sessionId,
    group_ids: groupIds,
    idempotency_key: nextKey(),
    text: 'Hello groups',
    ...overrides,
  };
}

async function sendCount(): Promise<number> {
  const row = await database.db
    .selectFrom('sends')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Posts, expects a 4xx with the given code, and checks nothing was written. */
async function expectRefused(
  body: unknown,
  status: number,
  code: string,
  org: SeededOrganization = acme,
): Promise<{ message: string; details: Record<string, unknown> | null }> {
  const before = await sendCount();
  const response = await postSend(body, org);
  const error = await readError(response);
  expect({ status: response.status, code: error.error.code }).toEqual({ status, code });
  expect(await sendCount()).toBe(before);
  return error.error;
}

function issuePaths(details: Record<string, unknown> | null): string[] {
  return ((details?.issues ?? []) as { path: string }[]).map((issue) => issue.path).sort();
}

describe('POST /v2/outbound/sends: accepted', () => {
  it('answers 202 as the reference shows, with one queued result per group in order', async () => {
    const body = validSend();
    const response = await postSend(body);
    expect(response.status).toBe(202);
    const requestId = response.headers.get('x-request-id');
    const accepted = sendAcceptedSchema.strict().parse(await response.json());
    expect(accepted.status).toBe('accepted');
    expect(accepted.request_id).toBe(requestId);
    expect(accepted.send.status).toBe('accepted');
    expect(accepted.send.request_id).toBe(requestId);
    expect(accepted.send.event_ids).toHaveLength(1);
    expect(accepted.send.results.map((result) => result.group_id)).toEqual(groupIds);
    expect(accepted.send.results.every((r) => r.ok && r.status === 'queued')).toBe(true);
    expect(response.headers.get('idempotent-replayed')).toBeNull();
  });

  it('commits the send, its deliveries to each group chat and the accepted event', async () => {
    const response = await postSend(validSend({ text: 'stored' }));
    const { send } = sendAcceptedSchema.parse(await response.json());
    const row = await database.db
      .selectFrom('sends')
      .selectAll()
      .where('id', '=', send.send_id)
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({
      organization_id: acme.organizationId,
      sender_id: sessionId,
      channel: 'whatsapp',
      origin: 'whatsapp_send',
      actor_user_id: 'user-acme',
      status: 'queued',
      request_id: send.request_id,
      content: { text: 'stored', media: [] },
    });
    const deliveries = await database.db
      .selectFrom('deliveries')
      .innerJoin('groups', 'groups.id', 'deliveries.group_id')
      .select(['deliveries.id', 'deliveries.recipient', 'deliveries.status', 'groups.chat_id'])
      .where('send_id', '=', send.send_id)
      .orderBy('deliveries.id')
      .execute();
    expect(deliveries.map((d) => d.id)).toEqual(send.results.map((r) => r.recipient_send_id));
    expect(deliveries.every((d) => d.recipient === d.chat_id && d.status === 'queued')).toBe(true);
    const events = await database.db
      .selectFrom('events')
      .select(['id', 'type'])
      .where('send_id', '=', send.send_id)
      .execute();
    expect(events).toEqual([{ id: send.event_ids[0], type: 'send.accepted' }]);
  });

  it('enqueues one deliveries job per delivery, the job id being the delivery id', async () => {
    const response = await postSend(validSend());
    const { send } = sendAcceptedSchema.parse(await response.json());
    for (const result of send.results) {
      const job = await api.queues.deliveries.getJob(result.recipient_send_id);
      expect(job?.data).toEqual({
        delivery_id: result.recipient_send_id,
        organization_id: acme.organizationId,
      });
    }
    const jobIds = (await api.queues.deliveries.getJobs(['waiting', 'delayed'])).map((j) => j.id);
    expect(
      jobIds.filter((id) => send.results.some((r) => r.recipient_send_id === id)),
    ).toHaveLength(send.results.length);
  });

  it('accepts media-less text of exactly 4096 characters and a single group', async () => {
    const response = await postSend(
      validSend({ text: 'x'.repeat(4_096), group_ids: [groupIds[0]] }),
    );
    expect(response.status).toBe(202);
  });
});

describe('POST /v2/outbound/sends: validation', () => {
  it('refuses a body without the required fields, naming each', async () => {
    const error = await expectRefused({ text: 'hi' }, 400, 'validation_failed');
    expect(issuePaths(error.details)).toEqual(['group_ids', 'idempotency_key', 'session_id']);
  });

  it('refuses unknown fields, naming them', async () => {
    const error = await expectRefused(
      validSend({ txt: 'typo', priority: 'high' }),
      400,
      'validation_failed',
    );
    expect(error.message).toMatch(/txt/);
    expect(error.message).toMatch(/priority/);
  });

  it('refuses unknown fields inside a media item', async () => {
    const error = await expectRefused(
      validSend({ media: [{ url: 'https://example.com/a.jpg', mimetype: 'image/jpeg', size: 1 }] }),
      400,
      'validation_failed',
    );
    expect(error.message).toMatch(/size/);
  });

  it.each([
    ['a session_id that is not a uuid', { session_id: 'abc' }, 'session_id'],
    ['no group', { group_ids: [] }, 'group_ids'],
    ['a group id that is not a uuid', { group_ids: ['nope'] }, 'group_ids.0'],
    ['an empty idempotency key', { idempotency_key: '' }, 'idempotency_key'],
    [
      'an idempotency key over 200 characters',
      { idempotency_key: 'k'.repeat(201) },
      'idempotency_key',
    ],
    ['text over 4096 characters', { text: 'x'.repeat(4_097) }, 'text'],
    ['text that is not a string', { text: 42 }, 'text'],
    [
      'non-image media',
      { media: [{ url: 'https://example.com/a.pdf', mimetype: 'application/pdf' }] },
      'media.0.mimetype',
    ],
    ['media without a url', { media: [{ mimetype: 'image/png' }] }, 'media.0.url'],
    [
      'a media url that is not a url',
      { media: [{ url: 'not a url', mimetype: 'image/png' }] },
      'media.0.url',
    ],
    [
      'more than 10 media items',
      {
        media: Array.from({ length: 11 }, (_, i) => ({
          url: `https://example.com/${i}.png`,
          mimetype: 'image/png',
        })),
      },
      'media',
    ],
    ['a schedule that is not an object', { schedule: 'tomorrow' }, 'schedule'],
  ])('refuses %s with 400 naming the field', async (_, overrides, path) => {
    const error = await expectRefused(validSend(overrides), 400, 'validation_failed');
    expect(issuePaths(error.details)).toContain(path);
  });

  it('refuses more than 100 groups', async () => {
    const many = Array.from({ length: 101 }, () => crypto.randomUUID());
    const error = await expectRefused(validSend({ group_ids: many }), 400, 'validation_failed');
    expect(issuePaths(error.details)).toEqual(['group_ids']);
  });

  it('refuses repeated group ids, listing them', async () => {
    const [first, second] = groupIds as [string, string];
    const error = await expectRefused(
      validSend({ group_ids: [first, second, first] }),
      400,
      'validation_failed',
    );
    expect(error.message).toContain(`repeated: ${first}`);
  });

  it.each([
    ['no text and no media', {}],
    ['blank text and no media', { text: '   ' }],
    ['no text and an empty media list', { media: [] }],
  ])('refuses %s: text is required', async (_, overrides) => {
    const body = validSend(overrides);
    if (!('text' in overrides)) delete body.text;
    const error = await expectRefused(body, 400, 'validation_failed');
    expect(error.details).toMatchObject({ issues: [{ path: 'text', code: 'required' }] });
    expect(error.message).toMatch(/text is required when there is no media/);
  });

  it('answers a schedule with 202 and the schedule instead of a send, sending nothing', async () => {
    const before = await sendCount();
    const firstRun = Date.now() + 3_600_000;
    const response = await postSend(
      validSend({ schedule: { first_run_at_ms: firstRun, interval_ms: 3_600_000 } }),
    );
    expect(response.status).toBe(202);
    const accepted = scheduleAcceptedSchema.strict().parse(await response.json());
    expect(accepted.schedule).toMatchObject({
      status: 'accepted',
      next_run_at_ms: firstRun,
      interval_ms: 3_600_000,
      max_occurrences: 1,
    });
    expect(await sendCount()).toBe(before);
  });

  it('refuses a JSON body sent as text/plain with 415', async () => {
    const response = await fetch(`${api.url}/v2/outbound/sends`, {
      method: 'POST',
      headers: { ...acme.headers, 'Content-Type': 'text/plain' },
      body: JSON.stringify(validSend()),
    });
    expect(response.status).toBe(415);
    expect((await readError(response)).error.details).toEqual({
      accepted: ['application/json', 'multipart/form-data'],
    });
  });

  it('refuses a caller without an API key', async () => {
    const response = await fetch(`${api.url}/v2/outbound/sends`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(validSend()),
    });
    expect(response.status).toBe(401);
  });
});

describe('POST /v2/outbound/sends: session and groups', () => {
  it('answers an unknown session with 404', async () => {
    const unknown = crypto.randomUUID();
    const error = await expectRefused(validSend({ session_id: unknown }), 404, 'not_found');
    expect(error.message).toBe(`session ${unknown} not found`);
  });

  it("answers another organization's session with the same 404", async () => {
    const error = await expectRefused(
      validSend({ session_id: otherSessionId, group_ids: [otherGroupId] }),
      404,
      'not_found',
    );
    expect(error.message).toBe(`session ${otherSessionId} not found`);
  });

  it('answers a receiving session with 409 conflict saying so', async () => {
    const receiving = await seedSession(database.db, acme.organizationId, { role: 'receiving' });
    const error = await expectRefused(validSend({ session_id: receiving }), 409, 'conflict');
    expect(error.message).toContain(`session ${receiving} is a receiving session`);
    expect(error.details).toEqual({ session_id: receiving, role: 'receiving' });
  });

  it.each(['STOPPED', 'FAILED'] as const)(
    'answers a %s session with 409 conflict naming its status',
    async (status) => {
      const stopped = await seedSession(database.db, acme.organizationId, { status });
      const error = await expectRefused(validSend({ session_id: stopped }), 409, 'conflict');
      expect(error.message).toContain(`session ${stopped} is ${status}`);
      expect(error.details).toEqual({ session_id: stopped, status });
    },
  );

  it('answers groups not present in the session with 422 listing exactly those', async () => {
    const elsewhere = await seedSession(database.db, acme.organizationId, { name: 'elsewhere' });
    const [notInSession] = await seedGroups(database.db, acme.organizationId, [elsewhere], 1);
    const unknown = crypto.randomUUID();
    const error = await expectRefused(
      validSend({ group_ids: [groupIds[0], notInSession, unknown, otherGroupId] }),
      422,
      'unprocessable',
    );
    expect(error.details).toEqual({
      session_id: sessionId,
      group_ids: [notInSession, unknown, otherGroupId],
    });
    expect(error.message).toContain(`${notInSession}, ${unknown}, ${otherGroupId}`);
  });
});

describe('GET /v2/outbound/sends/{send_id}', () => {
  it('shows the send and every recipient with the POST field names and more', async () => {
    const post = await postSend(validSend());
    const { send } = sendAcceptedSchema.parse(await post.json());
    const response = await fetch(`${api.url}/v2/outbound/sends/${send.send_id}`, {
      headers: acme.headers,
    });
    expect(response.status).toBe(200);
    const shown = sendStatusResponseSchema.strict().parse(await response.json());
    expect(shown.request_id).toBe(response.headers.get('x-request-id'));
    expect(shown.send).toMatchObject({
      status: 'queued',
      send_id: send.send_id,
      session_id: sessionId,
      event_ids: send.event_ids,
      request_id: send.request_id,
    });
    expect(shown.send.results).toHaveLength(groupIds.length);
    shown.send.results.forEach((result, index) => {
      expect(result).toMatchObject({
        ...send.results[index],
        attempts: 0,
        provider_message_id: null,
        error_code: null,
        error_message: null,
        possible_duplicate: false,
        sent_at_ms: null,
      });
    });
  });

  it('shows the current outcome of each recipient', async () => {
    const post = await postSend(validSend({ group_ids: groupIds.slice(0, 2) }));
    const { send } = sendAcceptedSchema.parse(await post.json());
    const [sent, failed] = send.results.map((r) => r.recipient_send_id) as [string, string];
    const at = new Date('2026-05-11T02:57:00Z');
    await database.db
      .updateTable('deliveries')
      .set({ status: 'sent', attempts: 1, provider_message_id: 'wamid.1', sent_at: at })
      .where('id', '=', sent)
      .execute();
    await database.db
      .updateTable('deliveries')
      .set({ status: 'failed', attempts: 5, error_code: 'provider_4xx', error_message: 'bad chat' })
      .where('id', '=', failed)
      .execute();
    await database.db
      .updateTable('sends')
      .set({ status: 'partially_failed' })
      .where('id', '=', send.send_id)
      .execute();
    const response = await fetch(`${api.url}/v2/outbound/sends/${send.send_id}`, {
      headers: acme.headers,
    });
    const shown = sendStatusResponseSchema.parse(await response.json());
    expect(shown.send.status).toBe('partially_failed');
    expect(shown.send.results[0]).toMatchObject({
      status: 'sent',
      ok: true,
      attempts: 1,
      provider_message_id: 'wamid.1',
      sent_at_ms: at.getTime(),
    });
    expect(shown.send.results[1]).toMatchObject({
      status: 'failed',
      ok: false,
      attempts: 5,
      error_code: 'provider_4xx',
      error_message: 'bad chat',
    });
  });

  it("answers another organization's send with 404, as an unknown one", async () => {
    const post = await postSend(validSend());
    const { send } = sendAcceptedSchema.parse(await post.json());
    const theirs = await fetch(`${api.url}/v2/outbound/sends/${send.send_id}`, {
      headers: other.headers,
    });
    expect(theirs.status).toBe(404);
    expect((await readError(theirs)).error.message).toBe(`send ${send.send_id} not found`);
    const unknown = crypto.randomUUID();
    const missing = await fetch(`${api.url}/v2/outbound/sends/${unknown}`, {
      headers: acme.headers,
    });
    expect(missing.status).toBe(404);
  });

  it('refuses an id that is not a uuid with 400', async () => {
    const response = await fetch(`${api.url}/v2/outbound/sends/123`, { headers: acme.headers });
    expect(response.status).toBe(400);
  });
});
