import { createDb, type Db } from '@outbound/db';
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
import { sendAcceptedSchema, type SendAccepted } from './sends.schema.ts';

const redis = createTestRedis();
let database: TestDatabase;
/** A pool wide enough that concurrent requests really overlap inside their transactions. */
let widePool: Db;
let api: TestApp;
let acme: SeededOrganization;
let other: SeededOrganization;
let sessionId: string;
let groupIds: string[];
let otherSessionId: string;
let otherGroupIds: string[];

beforeAll(async () => {
  database = await createTestDatabase();
  widePool = createDb({ connectionString: database.url, poolMax: 20 });
  api = await startTestApp(database, redis, { db: widePool });
  acme = await seedOrganization(database.db, 'acme');
  other = await seedOrganization(database.db, 'other');
  sessionId = await seedSession(database.db, acme.organizationId);
  groupIds = await seedGroups(database.db, acme.organizationId, [sessionId], 2);
  otherSessionId = await seedSession(database.db, other.organizationId);
  otherGroupIds = await seedGroups(database.db, other.organizationId, [otherSessionId], 1);
});

afterAll(async () => {
  await api.stop();
  await widePool.destroy();
  await database.drop();
  await redis.clear();
});

function postSend(body: unknown, org: SeededOrganization = acme): Promise<Response> {
  return fetch(`${api.url}/v2/outbound/sends`, {
    method: 'POST',
    headers: { ...org.headers, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
}

async function accepted(response: Response): Promise<SendAccepted> {
  expect(response.status).toBe(202);
  return sendAcceptedSchema.strict().parse(await response.json());
}

async function sendsWithKey(organizationId: string, key: string): Promise<string[]> {
  const rows = await database.db
    .selectFrom('sends')
    .select('id')
    .where('organization_id', '=', organizationId)
    .where('idempotency_key', '=', key)
    .execute();
  return rows.map((row) => row.id);
}

async function countRows(table: 'sends' | 'deliveries' | 'events'): Promise<number> {
  const row = await database.db
    .selectFrom(table)
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

describe('idempotency of POST /v2/outbound/sends', () => {
  it('replays the first answer for the same key and body, creating nothing', async () => {
    const body = { session_id: sessionId, group_ids: groupIds, idempotency_key: 'seq', text: 'hi' };
    const first = await accepted(await postSend(body));
    const counts = await Promise.all([
      countRows('sends'),
      countRows('deliveries'),
      countRows('events'),
    ]);

    // Same fields in another order: the same request.
    const reordered = {
      text: 'hi',
      idempotency_key: 'seq',
      group_ids: groupIds,
      session_id: sessionId,
    };
    const response = await postSend(reordered);
    expect(response.headers.get('idempotent-replayed')).toBe('true');
    const replay = await accepted(response);
    expect(replay.status).toBe('duplicate_accepted');
    expect(replay.request_id).toBe(response.headers.get('x-request-id'));
    expect(replay.request_id).not.toBe(first.request_id);
    expect(replay.send).toEqual(first.send);

    expect(
      await Promise.all([countRows('sends'), countRows('deliveries'), countRows('events')]),
    ).toEqual(counts);
    expect(await sendsWithKey(acme.organizationId, 'seq')).toEqual([first.send.send_id]);
  });

  it('keeps the record for at least IDEMPOTENCY_TTL_HOURS (24 h or more)', async () => {
    const body = { session_id: sessionId, group_ids: groupIds, idempotency_key: 'ttl', text: 'x' };
    await accepted(await postSend(body));
    const record = await database.db
      .selectFrom('idempotency_records')
      .selectAll()
      .where('organization_id', '=', acme.organizationId)
      .where('idempotency_key', '=', 'ttl')
      .executeTakeFirstOrThrow();
    const hours = (record.expires_at.getTime() - record.created_at.getTime()) / 3_600_000;
    expect(hours).toBeCloseTo(api.config.IDEMPOTENCY_TTL_HOURS, 1);
    expect(hours).toBeGreaterThanOrEqual(24);
    expect(record).toMatchObject({ scope: 'POST /v2/outbound/sends', response_status: 202 });
    expect(record.fingerprint).toMatch(/^[0-9a-f]{64}$/);
  });

  it('answers the same key with a different body with 409 idempotency_key_reused', async () => {
    const body = { session_id: sessionId, group_ids: groupIds, idempotency_key: 'diff', text: 'a' };
    const first = await accepted(await postSend(body));
    for (const changed of [
      { ...body, text: 'b' },
      { ...body, group_ids: [...groupIds].reverse() },
      { ...body, group_ids: groupIds.slice(0, 1) },
    ]) {
      const response = await postSend(changed);
      expect(response.status).toBe(409);
      const error = await readError(response);
      expect(error.error.code).toBe('idempotency_key_reused');
      expect(error.error.details).toEqual({ idempotency_key: 'diff' });
    }
    expect(await sendsWithKey(acme.organizationId, 'diff')).toEqual([first.send.send_id]);
  });

  it('does not store a refused request: the key stays usable', async () => {
    const unknownGroup = crypto.randomUUID();
    const refused = await postSend({
      session_id: sessionId,
      group_ids: [unknownGroup],
      idempotency_key: 'after-refusal',
      text: 'x',
    });
    expect(refused.status).toBe(422);
    const ok = await accepted(
      await postSend({
        session_id: sessionId,
        group_ids: groupIds,
        idempotency_key: 'after-refusal',
        text: 'x',
      }),
    );
    expect(ok.status).toBe('accepted');
  });

  it('scopes keys per organization', async () => {
    const key = 'shared-key';
    const mine = await accepted(
      await postSend({
        session_id: sessionId,
        group_ids: groupIds,
        idempotency_key: key,
        text: 'x',
      }),
    );
    const theirs = await accepted(
      await postSend(
        { session_id: otherSessionId, group_ids: otherGroupIds, idempotency_key: key, text: 'x' },
        other,
      ),
    );
    expect(theirs.status).toBe('accepted');
    expect(theirs.send.send_id).not.toBe(mine.send.send_id);
  });

  it('answers 50 concurrent identical requests with one send: 1 accepted, 49 duplicates', async () => {
    const body = {
      session_id: sessionId,
      group_ids: groupIds,
      idempotency_key: 'concurrent',
      text: 'at once',
    };
    const responses = await Promise.all(Array.from({ length: 50 }, () => postSend(body)));
    expect(responses.map((response) => response.status)).toEqual(Array(50).fill(202));
    const answers = await Promise.all(responses.map((response) => accepted(response)));
    const statuses = answers.map((answer) => answer.status);
    expect(statuses.filter((status) => status === 'accepted')).toHaveLength(1);
    expect(statuses.filter((status) => status === 'duplicate_accepted')).toHaveLength(49);
    const sendIds = new Set(answers.map((answer) => answer.send.send_id));
    expect(sendIds.size).toBe(1);
    expect(await sendsWithKey(acme.organizationId, 'concurrent')).toEqual([...sendIds]);
    const deliveries = await database.db
      .selectFrom('deliveries')
      .select('id')
      .where('send_id', '=', [...sendIds][0]!)
      .execute();
    expect(deliveries).toHaveLength(groupIds.length);
  });

  it('answers concurrent requests with one key but different bodies: one send, the rest 409', async () => {
    const bodies = Array.from({ length: 10 }, (_, i) => ({
      session_id: sessionId,
      group_ids: groupIds,
      idempotency_key: 'concurrent-different',
      text: `variant ${i}`,
    }));
    const responses = await Promise.all(bodies.map((body) => postSend(body)));
    const statuses = responses.map((response) => response.status).sort();
    expect(statuses).toEqual([202, ...Array<number>(9).fill(409)]);
    expect(await sendsWithKey(acme.organizationId, 'concurrent-different')).toHaveLength(1);
  });

  it('refuses a key whose record expired while its send still holds it', async () => {
    const body = { session_id: sessionId, group_ids: groupIds, idempotency_key: 'old', text: 'x' };
    const first = await accepted(await postSend(body));
    await database.db
      .updateTable('idempotency_records')
      .set({ expires_at: new Date(Date.now() - 1_000) })
      .where('organization_id', '=', acme.organizationId)
      .where('idempotency_key', '=', 'old')
      .execute();
    const response = await postSend(body);
    expect(response.status).toBe(409);
    const error = await readError(response);
    expect(error.error.code).toBe('idempotency_key_reused');
    expect(error.error.details).toEqual({ idempotency_key: 'old', send_id: first.send.send_id });
  });
});
