import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createMediaObject, type MediaObject } from '@outbound/db';
import { createTestDatabase, createTestRedis, type TestDatabase } from '@outbound/test/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mediaUrl } from '../media/media-urls.ts';
import { TINY_PNG } from '../media/test-images.ts';
import { readError } from '../test-support/error-body.ts';
import {
  seedGroups,
  seedOrganization,
  seedSession,
  type SeededOrganization,
} from '../test-support/seed.ts';
import { startTestApp, type TestApp } from '../test-support/test-app.ts';
import { draftSchema } from './drafts.schema.ts';

const redis = createTestRedis();
let database: TestDatabase;
let api: TestApp;
let acme: SeededOrganization;
let other: SeededOrganization;
let sessionId: string;
let groupIds: string[];
let elsewhereGroupId: string;
let receivingSessionId: string;
let otherSessionId: string;
let otherGroupId: string;
let acmeMedia: MediaObject;
let otherMedia: MediaObject;
/** Counts requests, to show that a draft save never fetches a media URL. */
let mediaHost: Server;
let mediaHostHits = 0;
let externalUrl: string;

beforeAll(async () => {
  database = await createTestDatabase();
  // The external media host is a local server: exempt it, as a trusted media host would be.
  api = await startTestApp(database, redis, { env: { MEDIA_FETCH_ALLOW_HOSTS: '127.0.0.1' } });
  acme = await seedOrganization(database.db, 'acme');
  other = await seedOrganization(database.db, 'other');
  sessionId = await seedSession(database.db, acme.organizationId, { name: 'main' });
  groupIds = await seedGroups(database.db, acme.organizationId, [sessionId], 100);
  const elsewhere = await seedSession(database.db, acme.organizationId, { name: 'elsewhere' });
  [elsewhereGroupId] = (await seedGroups(database.db, acme.organizationId, [elsewhere], 1)) as [
    string,
  ];
  receivingSessionId = await seedSession(database.db, acme.organizationId, {
    name: 'inbox',
    role: 'receiving',
  });
  otherSessionId = await seedSession(database.db, other.organizationId, { name: 'theirs' });
  [otherGroupId] = (await seedGroups(database.db, other.organizationId, [otherSessionId], 1)) as [
    string,
  ];
  acmeMedia = await storeImage(acme.organizationId, 'dot.png');
  otherMedia = await storeImage(other.organizationId, 'their.png');
  mediaHost = createServer((_req, res) => {
    mediaHostHits += 1;
    res.end();
  });
  await new Promise<void>((resolve) => mediaHost.listen(0, '127.0.0.1', resolve));
  externalUrl = `http://127.0.0.1:${(mediaHost.address() as AddressInfo).port}/watch.jpg`;
});

afterAll(async () => {
  await new Promise((resolve) => mediaHost.close(resolve));
  await api.stop();
  await database.drop();
  await redis.clear();
});

async function storeImage(organizationId: string, filename: string): Promise<MediaObject> {
  return createMediaObject(database.db, {
    organizationId,
    storageKey: `outbound/${organizationId}/20260511T025700.000-${filename}`,
    sha256: createHash('sha256').update(TINY_PNG).digest('hex'),
    sizeBytes: TINY_PNG.length,
    mimetype: 'image/png',
    filename,
    sourceUrl: null,
    data: TINY_PNG,
  });
}

function signedUrl(media: { id: string; filename: string | null }): string {
  return mediaUrl(api.config, media);
}

function postDraft(body: unknown, org: SeededOrganization = acme): Promise<Response> {
  return fetch(`${api.url}/v2/outbound/drafts`, {
    method: 'POST',
    headers: { ...org.headers, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
}

async function draftCount(): Promise<number> {
  const row = await database.db
    .selectFrom('whatsapp_drafts')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Posts, expects the status and code, and checks nothing was written. */
async function expectRefused(
  body: unknown,
  status: number,
  code: string,
  org: SeededOrganization = acme,
): Promise<{ message: string; details: Record<string, unknown> | null }> {
  const before = await draftCount();
  const response = await postDraft(body, org);
  const error = await readError(response);
  expect({ status: response.status, code: error.error.code }).toEqual({ status, code });
  expect(await draftCount()).toBe(before);
  return error.error;
}

function issuePaths(details: Record<string, unknown> | null): string[] {
  return ((details?.issues ?? []) as { path: string }[]).map((issue) => issue.path).sort();
}

describe('POST /v2/outbound/drafts: saved', () => {
  it('saves a draft with only session_id, answering the reference object with empty content', async () => {
    const response = await postDraft({ session_id: sessionId });
    expect(response.status).toBe(201);
    const json = (await response.json()) as Record<string, unknown>;
    expect(json).not.toHaveProperty('schedule');
    const draft = draftSchema.strict().parse(json);
    expect(draft).toMatchObject({
      actor_user_id: 'user-acme',
      session_id: sessionId,
      session_name: 'main',
      session_label: 'main label',
      group_ids: [],
      text: '',
      media: [],
    });
    expect(draft.updated_at_ms).toBe(draft.created_at_ms);
    expect(Math.abs(draft.created_at_ms - Date.now())).toBeLessThan(60_000);

    const read = await fetch(`${api.url}/v2/outbound/drafts/${draft.id}`, {
      headers: acme.headers,
    });
    expect(read.status).toBe(200);
    expect(await read.json()).toEqual(json);
  });

  it('keeps every field at its limit: 100 groups, 4096 characters, 10 media and a schedule', async () => {
    const media = Array.from({ length: 10 }, (_, i) => ({
      url: `https://cdn.example/outbound/${i}.jpg`,
      mimetype: 'image/jpeg',
      ...(i === 0 ? { filename: 'watch.jpg' } : {}),
    }));
    const schedule = {
      first_run_at_ms: 1_777_809_600_000,
      interval_ms: 3_600_000,
      max_occurrences: 3,
    };
    const text = 'é'.repeat(4_096);
    const response = await postDraft({
      session_id: sessionId,
      group_ids: groupIds,
      text,
      media,
      schedule,
    });
    expect(response.status).toBe(201);
    const draft = draftSchema.strict().parse(await response.json());
    expect(draft.group_ids).toEqual(groupIds);
    expect(draft.text).toBe(text);
    expect(draft.media).toEqual(media);
    expect(draft.schedule).toEqual(schedule);

    const row = await database.db
      .selectFrom('whatsapp_drafts')
      .selectAll()
      .where('id', '=', draft.id)
      .executeTakeFirstOrThrow();
    expect(row).toMatchObject({
      organization_id: acme.organizationId,
      actor_user_id: 'user-acme',
      group_ids: groupIds,
      text,
      schedule,
    });
  });

  it('keeps a schedule with only first_run_at_ms, as given', async () => {
    const response = await postDraft({ session_id: sessionId, schedule: { first_run_at_ms: 0 } });
    expect(response.status).toBe(201);
    expect(await response.json()).toMatchObject({ schedule: { first_run_at_ms: 0 } });
  });

  it('fills sha256, size_bytes and storage_key for an Outbound media URL, and its filename when absent', async () => {
    const url = signedUrl(acmeMedia);
    const response = await postDraft({
      session_id: sessionId,
      media: [
        { url, mimetype: 'image/png' },
        { url, mimetype: 'image/png', filename: 'renamed.png' },
        { url: externalUrl, mimetype: 'image/jpeg' },
      ],
    });
    expect(response.status).toBe(201);
    const draft = draftSchema.strict().parse(await response.json());
    const known = {
      url,
      mimetype: 'image/png',
      sha256: acmeMedia.sha256,
      size_bytes: TINY_PNG.length,
      storage_key: acmeMedia.storage_key,
    };
    expect(draft.media).toEqual([
      { ...known, filename: 'dot.png' },
      { ...known, filename: 'renamed.png' },
      { url: externalUrl, mimetype: 'image/jpeg' },
    ]);
    expect(mediaHostHits).toBe(0);
  });
});

describe('POST /v2/outbound/drafts: refused', () => {
  it('refuses 101 groups', async () => {
    const ids = [...groupIds, elsewhereGroupId];
    const error = await expectRefused(
      { session_id: sessionId, group_ids: ids },
      400,
      'validation_failed',
    );
    expect(issuePaths(error.details)).toEqual(['group_ids']);
  });

  it('refuses 4097 characters of text', async () => {
    const error = await expectRefused(
      { session_id: sessionId, text: 'x'.repeat(4_097) },
      400,
      'validation_failed',
    );
    expect(issuePaths(error.details)).toEqual(['text']);
  });

  it('refuses 11 media items', async () => {
    const media = Array.from({ length: 11 }, (_, i) => ({
      url: `https://cdn.example/${i}.jpg`,
      mimetype: 'image/jpeg',
    }));
    const error = await expectRefused({ session_id: sessionId, media }, 400, 'validation_failed');
    expect(issuePaths(error.details)).toEqual(['media']);
  });

  it('refuses repeated group ids, naming them', async () => {
    const [first, second] = groupIds as [string, string];
    const error = await expectRefused(
      { session_id: sessionId, group_ids: [first, second, first] },
      400,
      'validation_failed',
    );
    expect(issuePaths(error.details)).toEqual(['group_ids']);
    expect(error.message).toContain(`repeated: ${first}`);
  });

  it('refuses groups not present in the session with 422 listing each of them', async () => {
    const [first] = groupIds as [string];
    const error = await expectRefused(
      { session_id: sessionId, group_ids: [first, elsewhereGroupId, otherGroupId] },
      422,
      'unprocessable',
    );
    expect(error.details).toEqual({
      session_id: sessionId,
      group_ids: [elsewhereGroupId, otherGroupId],
    });
  });

  it('refuses an unknown session and another organization’s session with 404', async () => {
    await expectRefused({ session_id: crypto.randomUUID() }, 404, 'not_found');
    await expectRefused({ session_id: otherSessionId }, 404, 'not_found');
    const theirs = await postDraft({ session_id: otherSessionId }, other);
    expect(theirs.status).toBe(201);
  });

  it('refuses a receiving session with 409', async () => {
    const error = await expectRefused({ session_id: receivingSessionId }, 409, 'conflict');
    expect(error.details).toMatchObject({ role: 'receiving' });
  });

  it('refuses a missing session_id and a malformed one', async () => {
    expect(
      issuePaths((await expectRefused({ text: 'hi' }, 400, 'validation_failed')).details),
    ).toEqual(['session_id']);
    const error = await expectRefused({ session_id: 'main' }, 400, 'validation_failed');
    expect(issuePaths(error.details)).toEqual(['session_id']);
  });

  it('refuses unknown fields, naming them', async () => {
    const error = await expectRefused(
      { session_id: sessionId, txet: 'typo', idempotency_key: 'k' },
      400,
      'validation_failed',
    );
    expect(error.message).toContain('txet');
    expect(error.message).toContain('idempotency_key');
  });

  it.each([
    ['a fractional first_run_at_ms', { first_run_at_ms: 1.5 }, 'schedule.first_run_at_ms'],
    ['a string first_run_at_ms', { first_run_at_ms: '1777809600000' }, 'schedule.first_run_at_ms'],
    ['a negative first_run_at_ms', { first_run_at_ms: -1 }, 'schedule.first_run_at_ms'],
    ['no first_run_at_ms', { interval_ms: 1_000 }, 'schedule.first_run_at_ms'],
    ['interval_ms 0', { first_run_at_ms: 1, interval_ms: 0 }, 'schedule.interval_ms'],
    ['a fractional interval_ms', { first_run_at_ms: 1, interval_ms: 0.5 }, 'schedule.interval_ms'],
    ['max_occurrences 0', { first_run_at_ms: 1, max_occurrences: 0 }, 'schedule.max_occurrences'],
    ['an unknown schedule field', { first_run_at_ms: 1, every: 'day' }, 'schedule'],
    ['a schedule that is not an object', 'tomorrow', 'schedule'],
  ])('refuses a schedule with %s', async (_, schedule, path) => {
    const error = await expectRefused(
      { session_id: sessionId, schedule },
      400,
      'validation_failed',
    );
    expect(issuePaths(error.details)).toEqual([path]);
  });

  it.each([
    [
      'a non-image mimetype',
      { url: 'https://cdn.example/a.pdf', mimetype: 'application/pdf' },
      'media.0.mimetype',
    ],
    ['a non-http URL', { url: 'ftp://cdn.example/a.jpg', mimetype: 'image/jpeg' }, 'media.0.url'],
    [
      'an unknown item field',
      { url: 'https://cdn.example/a.jpg', mimetype: 'image/jpeg', size: 1 },
      'media.0',
    ],
    [
      'an empty filename',
      { url: 'https://cdn.example/a.jpg', mimetype: 'image/jpeg', filename: '' },
      'media.0.filename',
    ],
  ])('refuses a media item with %s', async (_, item, path) => {
    const error = await expectRefused(
      { session_id: sessionId, media: [item] },
      400,
      'validation_failed',
    );
    expect(issuePaths(error.details)).toEqual([path]);
  });

  it('refuses text holding U+0000, which Postgres cannot store', async () => {
    const error = await expectRefused(
      { session_id: sessionId, text: 'a\u0000b' },
      400,
      'validation_failed',
    );
    expect(issuePaths(error.details)).toEqual(['text']);
  });

  it('refuses Outbound media URLs that are forged, another organization’s or of another type', async () => {
    const good = signedUrl(acmeMedia);
    const forged = good.replace(/sig=[^&]+/, 'sig=forged');
    const unknown = signedUrl({ id: crypto.randomUUID(), filename: 'gone.png' });
    const error = await expectRefused(
      {
        session_id: sessionId,
        media: [
          { url: good, mimetype: 'image/png' },
          { url: forged, mimetype: 'image/png' },
          { url: signedUrl(otherMedia), mimetype: 'image/png' },
          { url: unknown, mimetype: 'image/png' },
          { url: good, mimetype: 'image/jpeg' },
          { url: 'http://localhost:3000/media/not-an-id/x.png', mimetype: 'image/png' },
        ],
      },
      422,
      'unprocessable',
    );
    const problems = (error.details?.problems ?? []) as { index: number; reason: string }[];
    expect(problems.map(({ index, reason }) => `${index}:${reason}`)).toEqual([
      '1:invalid_media_url',
      '2:media_not_found',
      '3:media_not_found',
      '4:type_mismatch',
      '5:invalid_media_url',
    ]);
  });

  it('refuses multipart/form-data with 415, saying why', async () => {
    const before = await draftCount();
    const form = new FormData();
    form.set('session_id', sessionId);
    form.set('files', new Blob([TINY_PNG], { type: 'image/png' }), 'dot.png');
    const response = await fetch(`${api.url}/v2/outbound/drafts`, {
      method: 'POST',
      headers: acme.headers,
      body: form,
    });
    const error = await readError(response);
    expect(response.status).toBe(415);
    expect(error.error.code).toBe('unsupported_media_type');
    expect(error.error.message).toContain(
      'drafts take already-uploaded media URLs; multipart files are not accepted',
    );
    expect(await draftCount()).toBe(before);
  });

  it('refuses other body types with the generic 415', async () => {
    const response = await fetch(`${api.url}/v2/outbound/drafts`, {
      method: 'POST',
      headers: { ...acme.headers, 'Content-Type': 'text/plain' },
      body: 'hello',
    });
    const error = await readError(response);
    expect(response.status).toBe(415);
    expect(error.error.message).toBe(
      'Content-Type text/plain is not accepted here; send application/json',
    );
  });

  it('refuses a caller without an API key', async () => {
    const response = await fetch(`${api.url}/v2/outbound/drafts`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ session_id: sessionId }),
    });
    expect(response.status).toBe(401);
  });
});

describe('the drafts routes in /openapi.json', () => {
  it('documents every drafts operation', async () => {
    const document = (await (await fetch(`${api.url}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { operationId: string }>>;
    };
    const operations = (path: string): string[] =>
      Object.values(document.paths[path] ?? {}).map((operation) => operation.operationId);
    expect(operations('/v2/outbound/drafts').sort()).toEqual([
      'createWhatsappDraft',
      'listWhatsappDrafts',
    ]);
    expect(operations('/v2/outbound/drafts/{draft_id}').sort()).toEqual([
      'deleteWhatsappDraft',
      'getWhatsappDraft',
      'replaceWhatsappDraft',
    ]);
  });
});
