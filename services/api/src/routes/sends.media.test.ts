import { whatsappSendContentSchema } from '@outbound/db';
import { createTestDatabase, createTestRedis, type TestDatabase } from '@outbound/test/harness';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalServer, type LocalServer } from '../media/test-server.ts';
import { TINY_JPEG, TINY_PNG } from '../media/test-images.ts';
import { readError } from '../test-support/error-body.ts';
import {
  seedGroups,
  seedOrganization,
  seedSession,
  type SeededOrganization,
} from '../test-support/seed.ts';
import { startTestApp, type TestApp } from '../test-support/test-app.ts';
import { scheduleResponseSchema } from './schedules.schema.ts';
import { scheduleAcceptedSchema, sendAcceptedSchema, type SendAccepted } from './sends.schema.ts';

const MAX_FILES = 3;
const MAX_BYTES = 4_096;

const redis = createTestRedis();
let database: TestDatabase;
/** Fetches media from the local image server (http, 127.0.0.1 allowed). */
let api: TestApp;
/** Production media rules: https only, no private addresses. */
let strict: TestApp;
let images: LocalServer;
let acme: SeededOrganization;
let sessionId: string;
let groupIds: string[];
let keyCounter = 0;

beforeAll(async () => {
  database = await createTestDatabase();
  images = await startLocalServer((request, response) => {
    const served: Record<string, [string, Buffer]> = {
      '/a.png': ['image/png', TINY_PNG],
      '/b.jpg': ['image/jpeg', TINY_JPEG],
      '/fake.png': ['image/png', Buffer.from('<html>not an image</html>')],
    };
    if (request.url === '/slow.png') {
      // Slow enough that concurrent requests all fetch it before any of them commits.
      setTimeout(() => response.writeHead(200, { 'Content-Type': 'image/png' }).end(TINY_PNG), 300);
      return;
    }
    const found = served[request.url ?? ''];
    if (found === undefined) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'Content-Type': found[0] }).end(found[1]);
  });
  api = await startTestApp(database, redis, {
    env: {
      MEDIA_FETCH_ALLOW_HTTP: 'true',
      MEDIA_FETCH_ALLOW_HOSTS: '127.0.0.1',
      MEDIA_MAX_FILES: String(MAX_FILES),
      MEDIA_MAX_BYTES: String(MAX_BYTES),
    },
  });
  strict = await startTestApp(database, redis);
  acme = await seedOrganization(database.db);
  sessionId = await seedSession(database.db, acme.organizationId);
  groupIds = await seedGroups(database.db, acme.organizationId, [sessionId], 2);
});

afterAll(async () => {
  await api.stop();
  await strict.stop();
  await images.close();
  await database.drop();
  await redis.clear();
});

function nextKey(): string {
  keyCounter += 1;
  return `media-${keyCounter}`;
}

function postJson(app: TestApp, body: Record<string, unknown>): Promise<Response> {
  return fetch(`${app.url}/v2/outbound/sends`, {
    method: 'POST',
    headers: { ...acme.headers, 'Content-Type': 'application/json' },
    body: JSON.stringify({
      session_id: sessionId,
      group_ids: groupIds,
      idempotency_key: nextKey(),
      ...body,
    }),
  });
}

type FormEntry = [string, string] | [string, Buffer, string, string];

function postForm(entries: readonly FormEntry[], app: TestApp = api): Promise<Response> {
  const form = new FormData();
  for (const entry of entries) {
    if (entry.length === 2) form.append(entry[0], entry[1]);
    else form.append(entry[0], new Blob([entry[1]], { type: entry[3] }), entry[2]);
  }
  return fetch(`${app.url}/v2/outbound/sends`, {
    method: 'POST',
    headers: acme.headers,
    body: form,
  });
}

function baseForm(key = nextKey()): FormEntry[] {
  return [
    ['session_id', sessionId],
    ...groupIds.map((id): FormEntry => ['group_ids', id]),
    ['idempotency_key', key],
  ];
}

async function accepted(response: Response): Promise<SendAccepted> {
  if (response.status !== 202) expect(await response.text()).toBe('a 202');
  return sendAcceptedSchema.parse(await response.json());
}

async function storedContent(sendId: string) {
  const row = await database.db
    .selectFrom('sends')
    .select('content')
    .where('id', '=', sendId)
    .executeTakeFirstOrThrow();
  return whatsappSendContentSchema.parse(row.content);
}

async function counts(): Promise<{ sends: number; media: number }> {
  const count = async (table: 'sends' | 'media_objects') =>
    Number(
      (
        await database.db
          .selectFrom(table)
          .select((eb) => eb.fn.countAll<string>().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );
  return { sends: await count('sends'), media: await count('media_objects') };
}

async function expectRefused(
  response: Promise<Response>,
  status: number,
  code: string,
): Promise<{ message: string; details: Record<string, unknown> | null }> {
  const before = await counts();
  const answer = await response;
  const error = await readError(answer);
  expect({ status: answer.status, code: error.error.code }).toEqual({ status, code });
  expect(await counts()).toEqual(before);
  return error.error;
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

describe('POST /v2/outbound/sends with media URLs', () => {
  it('stores the fetched images and records them on the send as Outbound URLs', async () => {
    const response = await postJson(api, {
      text: 'caption',
      media: [
        { url: `${images.origin}/a.png`, mimetype: 'image/png', filename: 'a.png' },
        { url: `${images.origin}/b.jpg`, mimetype: 'image/jpeg' },
      ],
    });
    const { send } = await accepted(response);
    const content = await storedContent(send.send_id);
    expect(content.text).toBe('caption');
    expect(content.media.map((m) => [m.mimetype, m.sha256, m.source_url])).toEqual([
      ['image/png', sha256(TINY_PNG), `${images.origin}/a.png`],
      ['image/jpeg', sha256(TINY_JPEG), `${images.origin}/b.jpg`],
    ]);
    for (const media of content.media) {
      expect(media.url.startsWith(`${api.config.PUBLIC_BASE_URL}/media/`)).toBe(true);
    }
  });

  it('refuses a media URL on a private address (SSRF) with 422, storing nothing', async () => {
    const error = await expectRefused(
      postJson(strict, {
        media: [{ url: `https://127.0.0.1:${images.port}/a.png`, mimetype: 'image/png' }],
      }),
      422,
      'unprocessable',
    );
    expect(error.message).toContain('media item 0');
  });

  it('refuses a media URL that is not https with 422', async () => {
    const error = await expectRefused(
      postJson(strict, { media: [{ url: `${images.origin}/a.png`, mimetype: 'image/png' }] }),
      422,
      'unprocessable',
    );
    expect(error.message).toContain(`${images.origin}/a.png`);
  });

  it('refuses a URL whose content is not the image it claims to be with 422', async () => {
    await expectRefused(
      postJson(api, { media: [{ url: `${images.origin}/fake.png`, mimetype: 'image/png' }] }),
      422,
      'unprocessable',
    );
  });

  it('stores the media of concurrent duplicates once: only the request that creates the send', async () => {
    const before = await counts();
    const body = {
      idempotency_key: nextKey(),
      media: [{ url: `${images.origin}/slow.png`, mimetype: 'image/png' }],
    };
    const answers = await Promise.all(
      Array.from({ length: 4 }, async () => accepted(await postJson(api, body))),
    );
    expect(answers.map((answer) => answer.status).sort()).toEqual([
      'accepted',
      'duplicate_accepted',
      'duplicate_accepted',
      'duplicate_accepted',
    ]);
    expect(await counts()).toEqual({ sends: before.sends + 1, media: before.media + 1 });
  });

  it('stores no media for a key whose send outlived its replay window (409)', async () => {
    const body = {
      idempotency_key: nextKey(),
      media: [{ url: `${images.origin}/a.png`, mimetype: 'image/png' }],
    };
    await accepted(await postJson(api, body));
    await database.db
      .deleteFrom('idempotency_records')
      .where('organization_id', '=', acme.organizationId)
      .where('idempotency_key', '=', body.idempotency_key)
      .execute();
    const fetched = images.requests.length;
    await expectRefused(postJson(api, body), 409, 'idempotency_key_reused');
    // Fetched and checked again, but never stored.
    expect(images.requests.length).toBe(fetched + 1);
  });

  it('accepts media without text: the text is optional then', async () => {
    const { send } = await accepted(
      await postJson(api, { media: [{ url: `${images.origin}/a.png`, mimetype: 'image/png' }] }),
    );
    expect((await storedContent(send.send_id)).text).toBeNull();
  });
});

describe('POST /v2/outbound/sends as multipart/form-data', () => {
  it('accepts repeated group_ids, text and image files, stored as media objects', async () => {
    const response = await postForm([
      ...baseForm(),
      ['text', 'from a form'],
      ['files', TINY_PNG, 'one.png', 'image/png'],
      ['files', TINY_JPEG, 'two.jpg', 'image/jpeg'],
    ]);
    const { send } = await accepted(response);
    expect(send.results.map((r) => r.group_id)).toEqual(groupIds);
    const content = await storedContent(send.send_id);
    expect(content.text).toBe('from a form');
    expect(content.media.map((m) => [m.filename, m.mimetype, m.sha256, m.source_url])).toEqual([
      ['one.png', 'image/png', sha256(TINY_PNG), null],
      ['two.jpg', 'image/jpeg', sha256(TINY_JPEG), null],
    ]);
    const objects = await database.db
      .selectFrom('media_objects')
      .select(['id', 'organization_id', 'size_bytes'])
      .where(
        'id',
        'in',
        content.media.map((m) => m.media_object_id),
      )
      .execute();
    expect(objects).toHaveLength(2);
    expect(objects.every((o) => o.organization_id === acme.organizationId)).toBe(true);
  });

  it('accepts group_ids as one JSON array and media as a JSON string, URL media first', async () => {
    const response = await postForm([
      ['session_id', sessionId],
      ['group_ids', JSON.stringify(groupIds)],
      ['idempotency_key', nextKey()],
      ['media', JSON.stringify([{ url: `${images.origin}/b.jpg`, mimetype: 'image/jpeg' }])],
      ['files', TINY_PNG, 'file.png', 'image/png'],
    ]);
    const { send } = await accepted(response);
    expect(send.results).toHaveLength(groupIds.length);
    const content = await storedContent(send.send_id);
    expect(content.text).toBeNull();
    expect(content.media.map((m) => m.sha256)).toEqual([sha256(TINY_JPEG), sha256(TINY_PNG)]);
  });

  it('refuses a form with neither text nor files', async () => {
    const error = await expectRefused(postForm(baseForm()), 400, 'validation_failed');
    expect(error.details).toMatchObject({ issues: [{ path: 'text', code: 'required' }] });
  });

  it('refuses unknown form fields, naming them', async () => {
    const error = await expectRefused(
      postForm([...baseForm(), ['text', 'x'], ['colour', 'blue']]),
      400,
      'validation_failed',
    );
    expect(error.message).toContain('colour');
  });

  it('refuses a file sent under another field than files', async () => {
    const error = await expectRefused(
      postForm([...baseForm(), ['image', TINY_PNG, 'a.png', 'image/png']]),
      400,
      'validation_failed',
    );
    expect(error.details).toMatchObject({ issues: [{ path: 'image', code: 'unexpected_file' }] });
  });

  it('refuses media that is not valid JSON', async () => {
    const error = await expectRefused(
      postForm([...baseForm(), ['media', '[{"url": ']]),
      400,
      'validation_failed',
    );
    expect(error.details).toMatchObject({ issues: [{ path: 'media', code: 'invalid_json' }] });
  });

  it('refuses a single-valued field sent twice', async () => {
    const error = await expectRefused(
      postForm([...baseForm(), ['text', 'a'], ['text', 'b']]),
      400,
      'validation_failed',
    );
    expect(error.details).toMatchObject({ issues: [{ path: 'text', code: 'repeated_field' }] });
  });

  it('refuses a file that is not an image with 422 naming it', async () => {
    const error = await expectRefused(
      postForm([...baseForm(), ['files', Buffer.from('%PDF-1.7'), 'doc.pdf', 'application/pdf']]),
      422,
      'unprocessable',
    );
    expect(error.message).toContain('doc.pdf');
  });

  it('stores none of the URL media when a file of the same request is refused', async () => {
    await expectRefused(
      postForm([
        ...baseForm(),
        ['media', JSON.stringify([{ url: `${images.origin}/a.png`, mimetype: 'image/png' }])],
        ['files', Buffer.from('%PDF-1.7'), 'doc.pdf', 'application/pdf'],
      ]),
      422,
      'unprocessable',
    );
  });

  it('refuses a file over MEDIA_MAX_BYTES with 413', async () => {
    const big = Buffer.concat([TINY_PNG, Buffer.alloc(MAX_BYTES)]);
    await expectRefused(
      postForm([...baseForm(), ['files', big, 'big.png', 'image/png']]),
      413,
      'payload_too_large',
    );
  });

  it('refuses more media and files together than MEDIA_MAX_FILES', async () => {
    const media = JSON.stringify([
      { url: `${images.origin}/a.png`, mimetype: 'image/png' },
      { url: `${images.origin}/b.jpg`, mimetype: 'image/jpeg' },
    ]);
    const error = await expectRefused(
      postForm([
        ...baseForm(),
        ['media', media],
        ['files', TINY_PNG, '1.png', 'image/png'],
        ['files', TINY_PNG, '2.png', 'image/png'],
      ]),
      400,
      'validation_failed',
    );
    expect(error.message).toContain(`at most ${MAX_FILES}; got 4`);
  });

  it('schedules a form holding schedule as JSON, keeping its file for the occurrences', async () => {
    const before = await counts();
    const firstRun = Date.now() + 3_600_000;
    const response = await postForm([
      ...baseForm(),
      ['text', 'caption'],
      ['schedule', JSON.stringify({ first_run_at_ms: firstRun })],
      ['files', TINY_PNG, 'a.png', 'image/png'],
    ]);
    expect(response.status).toBe(202);
    const { schedule } = scheduleAcceptedSchema.strict().parse(await response.json());
    expect(schedule).toMatchObject({ next_run_at_ms: firstRun, interval_ms: null });
    const row = await database.db
      .selectFrom('schedules')
      .select('content')
      .where('id', '=', schedule.schedule_id)
      .executeTakeFirstOrThrow();
    const content = whatsappSendContentSchema.parse(row.content);
    expect(content.text).toBe('caption');
    expect(content.media.map((item) => [item.filename, item.sha256])).toEqual([
      ['a.png', sha256(TINY_PNG)],
    ]);
    expect(await counts()).toEqual({ sends: before.sends, media: before.media + 1 });
    const shown = await fetch(`${api.url}/v2/outbound/schedules/${schedule.schedule_id}`, {
      headers: acme.headers,
    });
    const { schedule: view } = scheduleResponseSchema.parse(await shown.json());
    expect(view.media).toEqual([
      expect.objectContaining({ url: content.media[0]?.url, mimetype: 'image/png' }),
    ]);
  });

  it('refuses a form whose schedule is not valid JSON with 400 naming it', async () => {
    const error = await expectRefused(
      postForm([...baseForm(), ['text', 'x'], ['schedule', '{first_run_at_ms: 1}']]),
      400,
      'validation_failed',
    );
    expect(error.details).toMatchObject({ issues: [{ path: 'schedule', code: 'invalid_json' }] });
  });

  it('replays the same form and refuses the same key with another file', async () => {
    const key = nextKey();
    const form: FormEntry[] = [...baseForm(key), ['files', TINY_PNG, 'a.png', 'image/png']];
    const first = await accepted(await postForm(form));
    const again = await accepted(await postForm(form));
    expect(again.status).toBe('duplicate_accepted');
    expect(again.send).toEqual(first.send);
    const before = await counts();
    const other = await postForm([...baseForm(key), ['files', TINY_JPEG, 'a.png', 'image/jpeg']]);
    expect(other.status).toBe(409);
    expect((await readError(other)).error.code).toBe('idempotency_key_reused');
    expect(await counts()).toEqual(before);
  });

  it('answers a JSON replay without fetching the media again', async () => {
    const body = {
      idempotency_key: nextKey(),
      media: [{ url: `${images.origin}/a.png`, mimetype: 'image/png' }],
    };
    await accepted(await postJson(api, body));
    const fetched = images.requests.length;
    const again = await accepted(await postJson(api, body));
    expect(again.status).toBe('duplicate_accepted');
    expect(images.requests.length).toBe(fetched);
  });
});
