import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '@outbound/config';
import { createOrganization, findMediaObject, storedMediaSchema } from '@outbound/db';
import { createTestDatabase, type TestDatabase } from '@outbound/test/harness';
import { AppError } from '../errors/app-error.ts';
import { createMediaIngest, type MediaIngest } from './media-ingest.ts';
import { verifyMediaSignature } from './media-urls.ts';
import { TINY_JPEG, TINY_PNG, TINY_WEBP } from './test-images.ts';
import { startLocalServer, type LocalServer } from './test-server.ts';

const config = loadConfig({
  NODE_ENV: 'test',
  PUBLIC_BASE_URL: 'https://outbound.example.com',
  MEDIA_MAX_BYTES: '10000',
  MEDIA_MAX_FILES: '3',
  MEDIA_FETCH_TIMEOUT_MS: '2000',
  MEDIA_FETCH_ALLOW_HOSTS: '127.0.0.1',
  MEDIA_FETCH_ALLOW_HTTP: 'true',
});

const served: Record<string, Buffer> = {
  '/a.png': TINY_PNG,
  '/b.jpg': TINY_JPEG,
  '/c.webp': TINY_WEBP,
  '/notes.txt': Buffer.from('just some text'),
};

describe('media ingest', () => {
  let database: TestDatabase;
  let media: LocalServer;
  let ingest: MediaIngest;
  let organizationId: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    media = await startLocalServer((request, response) => {
      const body = served[request.url ?? ''];
      if (body === undefined) response.writeHead(404).end();
      else response.writeHead(200, { 'content-type': 'application/octet-stream' }).end(body);
    });
    ingest = createMediaIngest({
      config,
      resolve: (hostname) =>
        Promise.resolve(hostname === 'internal.test' ? ['10.0.0.5'] : ['127.0.0.1']),
    });
    organizationId = (await createOrganization(database.db, 'media ingest')).id;
  });
  afterAll(async () => {
    await media.close();
    await database.drop();
  });

  async function mediaRows(): Promise<number> {
    const { count } = await database.db
      .selectFrom('media_objects')
      .select((eb) => eb.fn.countAll<string>().as('count'))
      .executeTakeFirstOrThrow();
    return Number(count);
  }

  /** `fromUploads` throws synchronously; as a promise, for `refusal`. */
  const uploads = (files: Parameters<MediaIngest['fromUploads']>[0]) =>
    Promise.resolve().then(() => ingest.fromUploads(files));

  async function refusal(work: Promise<unknown>): Promise<AppError> {
    const error: unknown = await work.then(
      () => new Error('ingest succeeded'),
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(AppError);
    return error as AppError;
  }

  it('fetches URLs, stores each as a media object and returns signed Outbound URLs', async () => {
    const items = [
      { url: `${media.origin}/a.png`, mimetype: 'image/png', filename: '../holiday 1.png' },
      { url: `${media.origin}/b.jpg`, mimetype: 'image/jpg' },
      { url: `${media.origin}/c.webp`, mimetype: 'image/webp' },
    ];
    const before = await mediaRows();
    const checked = await ingest.fromUrls(items);
    expect(await mediaRows()).toBe(before);
    const stored = await ingest.store(database.db, organizationId, checked);

    expect(stored.map((item) => storedMediaSchema.parse(item))).toEqual(stored);
    expect(stored.map((item) => [item.mimetype, item.filename, item.source_url])).toEqual([
      ['image/png', 'holiday 1.png', items[0]!.url],
      ['image/jpeg', null, items[1]!.url],
      ['image/webp', null, items[2]!.url],
    ]);
    const [png] = stored;
    expect(png!.size_bytes).toBe(TINY_PNG.length);
    expect(png!.sha256).toBe(createHash('sha256').update(TINY_PNG).digest('hex'));
    expect(png!.storage_key).toMatch(
      new RegExp(
        `^outbound/${organizationId}/\\d{8}T\\d{6}\\.\\d{3}Z-[0-9a-f]{8}-holiday_1\\.png$`,
      ),
    );
    expect(stored[1]!.storage_key).toMatch(/-file\.jpeg$/);

    const url = new URL(png!.url);
    expect(url.origin).toBe('https://outbound.example.com');
    expect(url.pathname).toBe(`/media/${png!.media_object_id}/holiday%201.png`);
    expect(verifyMediaSignature(config, png!.media_object_id, url.searchParams.get('sig')!)).toBe(
      true,
    );

    const row = await findMediaObject(database.db, png!.media_object_id);
    expect(row?.data.equals(TINY_PNG)).toBe(true);
    expect(row).toMatchObject({ organization_id: organizationId, source_url: items[0]!.url });
  });

  it('refuses a PNG declared as JPEG, naming the item, and stores nothing', async () => {
    const before = await mediaRows();
    const error = await refusal(
      ingest.fromUrls([
        { url: `${media.origin}/b.jpg`, mimetype: 'image/jpeg' },
        { url: `${media.origin}/a.png`, mimetype: 'image/jpeg' },
      ]),
    );
    expect(error.code).toBe('unprocessable');
    expect(error.status).toBe(422);
    expect(error.message).toContain(`media item 1 (${media.origin}/a.png)`);
    expect(error.message).toContain('declared image/jpeg, but the content is image/png');
    expect(error.details).toEqual({
      problems: [
        expect.objectContaining({
          index: 1,
          url: `${media.origin}/a.png`,
          reason: 'type_mismatch',
        }),
      ],
    });
    expect(await mediaRows()).toBe(before);
  });

  it('refuses content that is not an image, and a declared type that is not one', async () => {
    const error = await refusal(
      ingest.fromUrls([
        { url: `${media.origin}/notes.txt`, mimetype: 'image/png' },
        { url: `${media.origin}/a.png`, mimetype: 'image/gif' },
      ]),
    );
    expect(error.code).toBe('unprocessable');
    expect(error.details?.problems).toEqual([
      expect.objectContaining({ index: 0, reason: 'not_an_image' }),
      expect.objectContaining({ index: 1, reason: 'unsupported_type' }),
    ]);
    expect(error.message).toContain('Cannot use 2 media items');
  });

  it('refuses URLs the SSRF guard stops, and ones that cannot be fetched, as 422', async () => {
    const noHttp = createMediaIngest({
      config: { ...config, MEDIA_FETCH_ALLOW_HTTP: false },
    });
    const cases: [MediaIngest, string, string][] = [
      [ingest, 'https://169.254.169.254/latest/meta-data/iam', 'private_address'],
      [ingest, 'https://[::ffff:127.0.0.1]/a.png', 'private_address'],
      [ingest, `http://internal.test:${media.port}/a.png`, 'private_address'],
      [noHttp, `${media.origin}/a.png`, 'not_https'],
      [ingest, `${media.origin}/missing.png`, 'http_status'],
    ];
    for (const [subject, url, reason] of cases) {
      const error = await refusal(subject.fromUrls([{ url, mimetype: 'image/png' }]));
      expect(error.code, url).toBe('unprocessable');
      expect(error.message).toContain(`media item 0 (${url})`);
      expect(error.details?.problems).toEqual([expect.objectContaining({ url, reason })]);
    }
  });

  it('refuses more items than configured', async () => {
    const items = Array.from({ length: 4 }, () => ({
      url: `${media.origin}/a.png`,
      mimetype: 'image/png',
    }));
    const error = await refusal(ingest.fromUrls(items));
    expect(error.code).toBe('validation_failed');
    expect(error.message).toContain('At most 3');
  });

  it('stores uploads by their real type, with sanitised names and unique keys', async () => {
    const checked = ingest.fromUploads([
      { fieldName: 'media', filename: 'C:\\pics\\cat.png', mimetype: 'image/png', data: TINY_PNG },
      {
        fieldName: 'media',
        filename: 'cat.png',
        mimetype: 'application/octet-stream',
        data: TINY_PNG,
      },
      { fieldName: 'media', filename: '', mimetype: 'image/webp', data: TINY_WEBP },
    ]);
    const stored = await ingest.store(database.db, organizationId, checked);
    expect(stored.map((item) => [item.mimetype, item.filename, item.source_url])).toEqual([
      ['image/png', 'cat.png', null],
      ['image/png', 'cat.png', null],
      ['image/webp', null, null],
    ]);
    expect(new Set(stored.map((item) => item.storage_key)).size).toBe(3);
    expect(new Set(stored.map((item) => item.media_object_id)).size).toBe(3);
    expect(stored[2]!.url).toContain('/file?sig=');
    const row = await findMediaObject(database.db, stored[2]!.media_object_id);
    expect(row?.data.equals(TINY_WEBP)).toBe(true);
  });

  it('refuses an uploaded PNG declared as JPEG and an uploaded text file', async () => {
    const before = await mediaRows();
    const text = Buffer.from('hello');
    const error = await refusal(
      uploads([
        { fieldName: 'media', filename: 'fake.jpg', mimetype: 'image/jpeg', data: TINY_PNG },
        { fieldName: 'media', filename: 'notes.txt', mimetype: 'text/plain', data: text },
        { fieldName: 'media', filename: 'notes.png', mimetype: 'image/png', data: text },
      ]),
    );
    expect(error.code).toBe('unprocessable');
    expect(error.message).toContain('media item 0 ("fake.jpg")');
    expect(error.details?.problems).toEqual([
      expect.objectContaining({ index: 0, filename: 'fake.jpg', reason: 'type_mismatch' }),
      expect.objectContaining({ index: 1, filename: 'notes.txt', reason: 'unsupported_type' }),
      expect.objectContaining({ index: 2, filename: 'notes.png', reason: 'not_an_image' }),
    ]);
    expect(await mediaRows()).toBe(before);
  });

  it('refuses an upload over the size limit', async () => {
    const big = Buffer.concat([TINY_PNG, Buffer.alloc(10_000)]);
    const error = await refusal(
      uploads([{ fieldName: 'media', filename: 'big.png', mimetype: 'image/png', data: big }]),
    );
    expect(error.code).toBe('payload_too_large');
    expect(error.message).toContain('big.png');
  });

  it('stores nothing for no media', async () => {
    expect(await ingest.fromUrls([])).toEqual([]);
    expect(ingest.fromUploads([])).toEqual([]);
    expect(await ingest.store(database.db, organizationId, [])).toEqual([]);
  });

  it("stores in the caller's transaction: rolled back with it, nothing is left", async () => {
    const checked = await ingest.fromUrls([
      { url: `${media.origin}/a.png`, mimetype: 'image/png' },
    ]);
    const before = await mediaRows();
    const rolledBack = new Error('the request was refused after its media was stored');
    await expect(
      database.db.transaction().execute(async (trx) => {
        const stored = await ingest.store(trx, organizationId, checked);
        expect(stored).toHaveLength(1);
        throw rolledBack;
      }),
    ).rejects.toBe(rolledBack);
    expect(await mediaRows()).toBe(before);
  });
});
