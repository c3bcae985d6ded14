import { createApiKey } from '@outbound/db';
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
import { draftListSchema, draftSchema, type DraftResponse } from './drafts.schema.ts';

type Draft = ReturnType<typeof draftSchema.parse>;
type AuthHeaders = Record<string, string>;

const redis = createTestRedis();
let database: TestDatabase;
let api: TestApp;
let acme: SeededOrganization;
let other: SeededOrganization;
let sessionId: string;
let secondSessionId: string;
let groupIds: string[];

beforeAll(async () => {
  database = await createTestDatabase();
  api = await startTestApp(database, redis);
  acme = await seedOrganization(database.db, 'acme');
  other = await seedOrganization(database.db, 'other');
  sessionId = await seedSession(database.db, acme.organizationId, { name: 'main' });
  secondSessionId = await seedSession(database.db, acme.organizationId, { name: 'second' });
  groupIds = await seedGroups(database.db, acme.organizationId, [sessionId, secondSessionId], 2);
});

afterAll(async () => {
  await api.stop();
  await database.drop();
  await redis.clear();
});

/** Another API key of the organization, for another actor. */
async function actor(
  actorUserId: string,
  org: SeededOrganization = acme,
): Promise<Record<string, string>> {
  const { key } = await createApiKey(database.db, {
    organizationId: org.organizationId,
    actorUserId,
  });
  return { Authorization: `Bearer ${key}` };
}

function call(
  method: string,
  path: string,
  headers: AuthHeaders,
  body?: unknown,
): Promise<Response> {
  return fetch(`${api.url}${path}`, {
    method,
    headers: { ...headers, 'Content-Type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

async function save(headers: AuthHeaders, body: Record<string, unknown> = {}): Promise<Draft> {
  const response = await call('POST', '/v2/outbound/drafts', headers, {
    session_id: sessionId,
    ...body,
  });
  expect(response.status).toBe(201);
  return draftSchema.parse(await response.json());
}

async function list(headers: AuthHeaders, query = '') {
  const response = await call('GET', `/v2/outbound/drafts${query}`, headers);
  expect(response.status).toBe(200);
  return draftListSchema.parse(await response.json());
}

/** Every page of a listing, following next_cursor. */
async function listAll(headers: AuthHeaders, query: string): Promise<DraftResponse[][]> {
  const pages: DraftResponse[][] = [];
  let page = await list(headers, `?${query}`);
  pages.push(page.data);
  while (page.pagination.next_cursor !== null) {
    expect(page.pagination.has_more).toBe(true);
    const cursor = encodeURIComponent(page.pagination.next_cursor);
    page = await list(headers, `?${query}&cursor=${cursor}`);
    pages.push(page.data);
  }
  expect(page.pagination.has_more).toBe(false);
  return pages;
}

describe('owner-only access', () => {
  it('hides a draft from another actor of the organization and from another organization', async () => {
    const draft = await save(acme.headers, { text: 'private', group_ids: groupIds });
    const path = `/v2/outbound/drafts/${draft.id}`;
    const strangers = [await actor('user-second'), other.headers];
    for (const headers of strangers) {
      for (const [method, body] of [
        ['GET', undefined],
        ['PUT', { session_id: sessionId, text: 'hijacked' }],
        ['DELETE', undefined],
      ] as const) {
        const response = await call(method, path, headers, body);
        expect({ method, status: response.status }).toEqual({ method, status: 404 });
        expect((await readError(response)).error.code).toBe('not_found');
      }
      expect((await list(headers, '?limit=100')).data.map((d) => d.id)).not.toContain(draft.id);
    }
    const mine = await call('GET', path, acme.headers);
    expect(mine.status).toBe(200);
    expect(draftSchema.parse(await mine.json())).toEqual(draft);
  });

  it('answers 404 for a draft that does not exist, and 400 for a malformed id', async () => {
    for (const method of ['GET', 'DELETE']) {
      const response = await call(
        method,
        `/v2/outbound/drafts/${crypto.randomUUID()}`,
        acme.headers,
      );
      expect(response.status).toBe(404);
    }
    const put = await call('PUT', `/v2/outbound/drafts/${crypto.randomUUID()}`, acme.headers, {
      session_id: crypto.randomUUID(),
    });
    expect(put.status).toBe(404);
    expect((await readError(put)).error.details).toHaveProperty('draft_id');
    const malformed = await call('GET', '/v2/outbound/drafts/not-a-uuid', acme.headers);
    expect(malformed.status).toBe(400);
  });
});

describe('PUT /v2/outbound/drafts/{draft_id}', () => {
  it('replaces the whole content, moving updated_at_ms and keeping created_at_ms', async () => {
    const draft = await save(acme.headers, {
      text: 'first',
      group_ids: groupIds,
      media: [{ url: 'https://cdn.example/a.jpg', mimetype: 'image/jpeg' }],
      schedule: { first_run_at_ms: 1_777_809_600_000 },
    });
    const response = await call('PUT', `/v2/outbound/drafts/${draft.id}`, acme.headers, {
      session_id: secondSessionId,
      text: 'second',
    });
    expect(response.status).toBe(200);
    const json = (await response.json()) as Record<string, unknown>;
    expect(json).not.toHaveProperty('schedule');
    const replaced = draftSchema.strict().parse(json);
    expect(replaced).toMatchObject({
      id: draft.id,
      session_id: secondSessionId,
      session_name: 'second',
      group_ids: [],
      text: 'second',
      media: [],
      created_at_ms: draft.created_at_ms,
    });
    expect(replaced.updated_at_ms).toBeGreaterThan(draft.updated_at_ms);

    const read = await call('GET', `/v2/outbound/drafts/${draft.id}`, acme.headers);
    expect(draftSchema.parse(await read.json())).toEqual(replaced);
  });

  it('validates as a save does, and changes nothing when refusing', async () => {
    const draft = await save(acme.headers, { text: 'kept' });
    const path = `/v2/outbound/drafts/${draft.id}`;
    const refusals: [unknown, number][] = [
      [{ session_id: sessionId, text: 'x'.repeat(4_097) }, 400],
      [{ session_id: sessionId, group_ids: [groupIds[0], groupIds[0]] }, 400],
      [{ session_id: sessionId, colour: 'red' }, 400],
      [{ session_id: sessionId, schedule: { first_run_at_ms: 1, interval_ms: -5 } }, 400],
      [{ session_id: sessionId, group_ids: [crypto.randomUUID()] }, 422],
      [{ session_id: crypto.randomUUID() }, 404],
    ];
    for (const [body, status] of refusals) {
      const response = await call('PUT', path, acme.headers, body);
      expect({ body, status: response.status }).toEqual({ body, status });
    }
    const multipart = new FormData();
    multipart.set('session_id', sessionId);
    const form = await fetch(`${api.url}${path}`, {
      method: 'PUT',
      headers: acme.headers,
      body: multipart,
    });
    expect(form.status).toBe(415);
    expect((await readError(form)).error.message).toContain('multipart files are not accepted');
    const read = await call('GET', path, acme.headers);
    expect(draftSchema.parse(await read.json())).toEqual(draft);
  });
});

describe('DELETE /v2/outbound/drafts/{draft_id}', () => {
  it('deletes the draft: 204, then 404 for reading or deleting it again', async () => {
    const draft = await save(acme.headers);
    const path = `/v2/outbound/drafts/${draft.id}`;
    const deleted = await call('DELETE', path, acme.headers);
    expect(deleted.status).toBe(204);
    expect(await deleted.text()).toBe('');
    expect((await call('GET', path, acme.headers)).status).toBe(404);
    expect((await call('DELETE', path, acme.headers)).status).toBe(404);
    expect((await list(acme.headers, '?limit=100')).data.map((d) => d.id)).not.toContain(draft.id);
  });
});

describe('GET /v2/outbound/drafts', () => {
  it('pages through the caller’s drafts newest first, each once, in a stable order', async () => {
    const headers = await actor('user-pager');
    const saved: Draft[] = [];
    for (let i = 0; i < 7; i += 1) saved.push(await save(headers, { text: `draft ${i}` }));

    const pages = await listAll(headers, 'limit=3');
    expect(pages.map((page) => page.length)).toEqual([3, 3, 1]);
    const listed = pages.flat();
    const byRecency = [...saved].sort((a, b) =>
      a.updated_at_ms === b.updated_at_ms
        ? a.id < b.id
          ? 1
          : -1
        : b.updated_at_ms - a.updated_at_ms,
    );
    expect(listed.map((draft) => draft.id)).toEqual(byRecency.map((draft) => draft.id));
    expect(listed).toEqual(byRecency);

    const again = await listAll(headers, 'limit=3');
    expect(again).toEqual(pages);

    const first = await list(headers, '?limit=3');
    expect(first.pagination).toMatchObject({ limit: 3, cursor: null, has_more: true });
    const second = await list(headers, `?limit=3&cursor=${first.pagination.next_cursor ?? ''}`);
    expect(second.pagination.cursor).toBe(first.pagination.next_cursor);
  });

  it('moves a replaced draft to the front', async () => {
    const headers = await actor('user-mover');
    const oldest = await save(headers, { text: 'old' });
    await save(headers, { text: 'newer' });
    await call('PUT', `/v2/outbound/drafts/${oldest.id}`, headers, { session_id: sessionId });
    expect((await list(headers)).data[0]?.id).toBe(oldest.id);
  });

  it('answers 25 drafts by default and at most 100', async () => {
    const headers = await actor('user-many');
    for (let i = 0; i < 26; i += 1) await save(headers);
    const page = await list(headers);
    expect(page.data).toHaveLength(25);
    expect(page.pagination).toMatchObject({ limit: 25, has_more: true });
    expect((await list(headers, '?limit=100')).data).toHaveLength(26);
    for (const limit of ['0', '101', '2.5', 'ten']) {
      const response = await call('GET', `/v2/outbound/drafts?limit=${limit}`, headers);
      expect({ limit, status: response.status }).toEqual({ limit, status: 400 });
    }
  });

  it('answers an empty page for a caller without drafts', async () => {
    const page = await list(await actor('user-empty'));
    expect(page).toEqual({
      data: [],
      pagination: { limit: 25, cursor: null, next_cursor: null, has_more: false },
    });
  });

  it('filters by session, across pages', async () => {
    const headers = await actor('user-filter');
    const inSecond: Draft[] = [];
    for (let i = 0; i < 3; i += 1) {
      await save(headers);
      inSecond.push(await save(headers, { session_id: secondSessionId }));
    }
    const pages = await listAll(headers, `limit=2&session_id=${secondSessionId}`);
    expect(pages.map((page) => page.length)).toEqual([2, 1]);
    expect(
      pages
        .flat()
        .map((draft) => draft.id)
        .sort(),
    ).toEqual(inSecond.map((draft) => draft.id).sort());
    expect(pages.flat().every((draft) => draft.session_id === secondSessionId)).toBe(true);

    const unknown = await call(
      'GET',
      `/v2/outbound/drafts?session_id=${crypto.randomUUID()}`,
      headers,
    );
    expect(unknown.status).toBe(404);
  });

  it('refuses a garbled cursor, a forged one and one from another listing with 400', async () => {
    const headers = await actor('user-cursor');
    for (let i = 0; i < 3; i += 1) await save(headers);
    const filtered = await list(headers, `?limit=1&session_id=${sessionId}`);
    const fromFilter = filtered.pagination.next_cursor ?? '';
    expect(fromFilter).not.toBe('');
    const forged = Buffer.from(JSON.stringify({ v: 1, u: 'yesterday', i: 'x', s: null })).toString(
      'base64url',
    );
    for (const [cursor, code] of [
      ['not a cursor!', 'invalid_cursor'],
      ['bm9wZQ', 'invalid_cursor'],
      [forged, 'invalid_cursor'],
      [fromFilter, 'cursor_mismatch'],
    ] as const) {
      const response = await call(
        'GET',
        `/v2/outbound/drafts?limit=1&cursor=${encodeURIComponent(cursor)}`,
        headers,
      );
      expect({ cursor, status: response.status }).toEqual({ cursor, status: 400 });
      const error = await readError(response);
      expect(error.error.details).toMatchObject({
        issues: [{ location: 'query', path: 'cursor', code }],
      });
    }
    const same = await list(headers, `?limit=1&session_id=${sessionId}&cursor=${fromFilter}`);
    expect(same.data).toHaveLength(1);
  });

  it('refuses unknown query parameters', async () => {
    const response = await call('GET', '/v2/outbound/drafts?order=asc', acme.headers);
    expect(response.status).toBe(400);
    expect((await readError(response)).error.message).toContain('order');
  });
});
