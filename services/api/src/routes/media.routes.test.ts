import { createMediaObject } from '@outbound/db';
import { createTestDatabase, createTestRedis, type TestDatabase } from '@outbound/test/harness';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mediaUrl } from '../media/media-urls.ts';
import { TINY_PNG } from '../media/test-images.ts';
import { readError } from '../test-support/error-body.ts';
import { seedOrganization } from '../test-support/seed.ts';
import { startTestApp, type TestApp } from '../test-support/test-app.ts';
import { MEDIA_MAX_AGE_SECONDS } from './media.routes.ts';

const redis = createTestRedis();
let database: TestDatabase;
let api: TestApp;
let mediaId: string;
/** The signed path and query, as `mediaUrl` makes it. */
let signedPath: string;

beforeAll(async () => {
  database = await createTestDatabase();
  api = await startTestApp(database, redis);
  const { organizationId } = await seedOrganization(database.db);
  const media = await createMediaObject(database.db, {
    organizationId,
    storageKey: `outbound/${organizationId}/20260511T025700.000-dot.png`,
    sha256: createHash('sha256').update(TINY_PNG).digest('hex'),
    sizeBytes: TINY_PNG.length,
    mimetype: 'image/png',
    filename: 'dot.png',
    sourceUrl: null,
    data: TINY_PNG,
  });
  mediaId = media.id;
  const url = new URL(mediaUrl(api.config, { id: media.id, filename: media.filename }));
  signedPath = `${url.pathname}${url.search}`;
});

afterAll(async () => {
  await api.stop();
  await database.drop();
  await redis.clear();
});

describe('GET /media/{media_id}/{filename}', () => {
  it('serves the bytes with their type, private caching and nosniff, without an API key', async () => {
    const response = await fetch(`${api.url}${signedPath}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('image/png');
    expect(response.headers.get('content-length')).toBe(String(TINY_PNG.length));
    expect(response.headers.get('cache-control')).toBe(`private, max-age=${MEDIA_MAX_AGE_SECONDS}`);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(Buffer.from(await response.arrayBuffer())).toEqual(TINY_PNG);
  });

  it('ignores the filename segment, which is cosmetic', async () => {
    const renamed = signedPath.replace('/dot.png?', '/other-name.png?');
    expect(renamed).not.toBe(signedPath);
    expect((await fetch(`${api.url}${renamed}`)).status).toBe(200);
  });

  it('answers a bad signature with 404', async () => {
    const forged = signedPath.replace(/sig=.*/, 'sig=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
    const response = await fetch(`${api.url}${forged}`);
    expect(response.status).toBe(404);
    expect((await readError(response)).error.code).toBe('not_found');
  });

  it("answers another id with this id's signature with 404", async () => {
    const otherId = crypto.randomUUID();
    const response = await fetch(`${api.url}${signedPath.replace(mediaId, otherId)}`);
    expect(response.status).toBe(404);
  });

  it('answers an unknown id with a valid signature with 404', async () => {
    const unknown = crypto.randomUUID();
    const url = new URL(mediaUrl(api.config, { id: unknown, filename: 'x.png' }));
    const response = await fetch(`${api.url}${url.pathname}${url.search}`);
    expect(response.status).toBe(404);
  });

  it('refuses a request without a signature with 400', async () => {
    const response = await fetch(`${api.url}/media/${mediaId}/dot.png`);
    expect(response.status).toBe(400);
  });
});
