import type { ServerResponse } from 'node:http';
import { createTestDatabase, createTestRedis, type TestDatabase } from '@outbound/test/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { guardedFetch, MediaFetchError, type GuardedFetchOptions } from '../media/guarded-fetch.ts';
import { TINY_PNG } from '../media/test-images.ts';
import { startLocalServer, type LocalServer } from '../media/test-server.ts';
import { readError } from '../test-support/error-body.ts';
import { callAs, seedSecurityTenant, type SecurityTenant } from '../test-support/security-world.ts';
import { changedTables, tableFingerprint } from '../test-support/table-fingerprint.ts';
import { startTestApp, type TestApp } from '../test-support/test-app.ts';

/**
 * SSRF: media URLs (`media[].url` of WhatsApp sends, the media of WhatsApp drafts) that are,
 * redirect to or resolve to loopback, private, link-local, CGNAT, IPv4-mapped, IPv6 loopback or
 * unique-local, unspecified, or loopback spelt in decimal, octal or hex are refused when saved
 * and when fetched; fetches have size, time and type limits. Only loopback targets are used: a
 * local server that counts what reaches it.
 */

/** Private and reserved hosts, in the spellings a URL can give them. */
const PRIVATE_HOSTS = [
  ['loopback', '127.0.0.1'],
  ['loopback, elsewhere in 127/8', '127.0.0.2'],
  ['loopback in decimal', '2130706433'],
  ['loopback in octal', '0177.0.0.1'],
  ['loopback in one octal number', '017700000001'],
  ['loopback in hex', '0x7f.0.0.1'],
  ['loopback, short form', '127.1'],
  ['unspecified', '0.0.0.0'],
  ['unspecified, short form', '0'],
  ['10/8', '10.0.0.1'],
  ['172.16/12, lowest', '172.16.0.1'],
  ['172.16/12, highest', '172.31.255.254'],
  ['192.168/16', '192.168.1.1'],
  ['192.168/16 in decimal', '3232235777'],
  ['link-local', '169.254.0.1'],
  ['cloud metadata', '169.254.169.254'],
  ['cloud metadata in hex', '0xa9fea9fe'],
  ['CGNAT 100.64/10', '100.64.0.1'],
  ['CGNAT, highest', '100.127.255.254'],
  ['IPv4-mapped loopback', '[::ffff:127.0.0.1]'],
  ['IPv4-mapped loopback in hex', '[::ffff:7f00:1]'],
  ['IPv4-mapped metadata', '[::ffff:169.254.169.254]'],
  ['IPv6 loopback', '[::1]'],
  ['IPv6 unspecified', '[::]'],
  ['IPv6 unique-local', '[fd00::1]'],
  ['IPv6 link-local', '[fe80::1]'],
  ['localhost', 'localhost'],
  ['localhost with a trailing dot', 'localhost.'],
  ['a localhost subdomain', 'media.localhost'],
] as const;

describe('guardedFetch, by URL', () => {
  it.each(PRIVATE_HOSTS)('refuses %s (%s) without connecting', async (_, host) => {
    const error = await guardedFetch(`https://${host}/a.png`, {
      maxBytes: 100,
      timeoutMs: 2_000,
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(MediaFetchError);
    expect((error as MediaFetchError).reason).toBe('private_address');
  });
});

describe('guardedFetch, through redirects from a local server', () => {
  let target: LocalServer;
  let origin: LocalServer;
  let redirectTo = '';

  beforeAll(async () => {
    // What a redirect must never reach: the "internal service".
    target = await startLocalServer((_, response) => response.end('internal secret'));
    origin = await startLocalServer((request, response) => {
      if (request.url === '/start') response.writeHead(302, { location: redirectTo }).end();
      else response.writeHead(404).end();
    });
  });
  afterAll(async () => {
    await Promise.all([target.close(), origin.close()]);
  });

  /** Lets the test reach its own origin server by a public-looking name, and nothing else. */
  const options: GuardedFetchOptions = {
    maxBytes: 10_000,
    timeoutMs: 2_000,
    allowHttp: true,
    allowHosts: ['media.test'],
    resolve: () => Promise.resolve(['127.0.0.1']),
  };

  const redirectTargets: (readonly [string, string])[] = [
    ...PRIVATE_HOSTS,
    ['a name that resolves to loopback', 'internal.test'],
  ];
  it.each(redirectTargets)('refuses a redirect to %s (%s)', async (_, host) => {
    redirectTo = `http://${host}:${target.port}/secret`;
    const error = await guardedFetch(`http://media.test:${origin.port}/start`, options).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(MediaFetchError);
    expect((error as MediaFetchError).reason).toBe('private_address');
    expect(target.requests).toEqual([]);
  });
});

describe('media URLs through the API', () => {
  const redis = createTestRedis();
  let database: TestDatabase;
  let api: TestApp;
  let tenant: SecurityTenant;
  let media: LocalServer;
  let internal: LocalServer;
  let behaviour: (path: string, response: ServerResponse) => void = () => {};

  beforeAll(async () => {
    database = await createTestDatabase();
    internal = await startLocalServer((_, response) => response.end('internal secret'));
    media = await startLocalServer((request, response) => behaviour(request.url ?? '', response));
    // The media host is trusted by name, as a deployment's own media host would be; every
    // other private host stays refused, including where its redirects lead.
    api = await startTestApp(database, redis, {
      env: {
        MEDIA_FETCH_ALLOW_HOSTS: 'localhost',
        MEDIA_FETCH_ALLOW_HTTP: 'true',
        MEDIA_FETCH_TIMEOUT_MS: '500',
        MEDIA_MAX_BYTES: '10000',
      },
    });
    tenant = await seedSecurityTenant(database.db, api.url, api.config, 'ssrf');
  }, 60_000);

  afterAll(async () => {
    await Promise.all([media.close(), internal.close()]);
    await api.stop();
    await database.drop();
    await redis.clear();
  });

  /** The trusted media host's origin, by its allow-listed name. */
  const mediaOrigin = () => `http://localhost:${media.port}`;
  /** Every private host but the allow-listed name. */
  const refusedHosts = PRIVATE_HOSTS.filter(([, host]) => host !== 'localhost');

  let sends = 0;
  const sendWith = (url: string) =>
    callAs(api.url, tenant, 'POST', '/v2/outbound/sends', {
      session_id: tenant.sessionId,
      group_ids: [tenant.groupIds[0]],
      idempotency_key: `ssrf-${(sends += 1)}`,
      media: [{ url, mimetype: 'image/png' }],
    });

  /** The send is refused with 422 for `reason`, names no address, and writes nothing. */
  async function expectRefusedSend(url: string, reason: string): Promise<void> {
    const before = await tableFingerprint(database.db);
    const response = await sendWith(url);
    const body = await readError(response);
    expect(response.status, JSON.stringify(body)).toBe(422);
    const problems = body.error.details?.problems as { reason: string; message: string }[];
    expect(problems.map((problem) => problem.reason)).toEqual([reason]);
    expect(changedTables(before, await tableFingerprint(database.db))).toEqual([]);
  }

  it.each(refusedHosts)('refuses a send whose media URL is %s (%s)', async (_, host) => {
    await expectRefusedSend(`http://${host}:${internal.port}/a.png`, 'private_address');
    expect(internal.requests).toEqual([]);
  });

  it.each(refusedHosts)('refuses a send whose media URL redirects to %s (%s)', async (_, host) => {
    behaviour = (path, response) => {
      response.writeHead(302, { location: `http://${host}:${internal.port}/secret` }).end();
    };
    await expectRefusedSend(`${mediaOrigin()}/start`, 'private_address');
    expect(internal.requests).toEqual([]);
  });

  it('stores what the trusted host serves: the baseline the refusals are measured against', async () => {
    behaviour = (_, response) =>
      response.writeHead(200, { 'content-type': 'image/png' }).end(TINY_PNG);
    const response = await sendWith(`${mediaOrigin()}/ok.png`);
    expect(response.status).toBe(202);
  });

  it('refuses a body past MEDIA_MAX_BYTES, a stalled server and a redirect loop', async () => {
    behaviour = (_, response) => response.writeHead(200).end(Buffer.alloc(10_001));
    await expectRefusedSend(`${mediaOrigin()}/big.png`, 'too_large');
    behaviour = (_, response) => response.writeHead(200, { 'content-length': '100' }).write('x');
    await expectRefusedSend(`${mediaOrigin()}/slow.png`, 'timeout');
    behaviour = (path, response) => response.writeHead(302, { location: path }).end();
    await expectRefusedSend(`${mediaOrigin()}/loop.png`, 'too_many_redirects');
  });

  it('refuses what is not an image, whatever its Content-Type says', async () => {
    behaviour = (_, response) =>
      response.writeHead(200, { 'content-type': 'image/png' }).end('<html>not an image</html>');
    await expectRefusedSend(`${mediaOrigin()}/page.png`, 'not_an_image');
  });

  it.each(refusedHosts)(
    'refuses to save a draft whose media URL names %s (%s)',
    async (_, host) => {
      const url = `https://${host}/a.png`;
      for (const [method, path] of [
        ['POST', '/v2/outbound/drafts'],
        ['PUT', `/v2/outbound/drafts/${tenant.whatsappDraftId}`],
      ] as const) {
        const before = await tableFingerprint(database.db);
        const response = await callAs(api.url, tenant, method, path, {
          session_id: tenant.sessionId,
          media: [{ url, mimetype: 'image/png' }],
        });
        const body = await readError(response);
        expect(response.status, JSON.stringify(body)).toBe(422);
        const problems = body.error.details?.problems as { reason: string }[];
        expect(problems.map((problem) => problem.reason)).toEqual(['private_address']);
        expect(changedTables(before, await tableFingerprint(database.db))).toEqual([]);
      }
    },
  );

  it('still saves a draft whose media URL names a public host, without fetching it', async () => {
    const response = await callAs(api.url, tenant, 'POST', '/v2/outbound/drafts', {
      session_id: tenant.sessionId,
      media: [{ url: 'https://cdn.example.com/a.png', mimetype: 'image/png' }],
    });
    expect(response.status).toBe(201);
  });
});

describe('webhook URLs through the API', () => {
  const redis = createTestRedis();
  let database: TestDatabase;
  let api: TestApp;
  let tenant: SecurityTenant;

  beforeAll(async () => {
    database = await createTestDatabase();
    // Plain http is allowed here, so what refuses each URL is the address check alone.
    api = await startTestApp(database, redis, { env: { WEBHOOK_ALLOW_HTTP: 'true' } });
    tenant = await seedSecurityTenant(database.db, api.url, api.config, 'hooks');
  }, 60_000);

  afterAll(async () => {
    await api.stop();
    await database.drop();
    await redis.clear();
  });

  it.each(PRIVATE_HOSTS)(
    'refuses to register a webhook whose URL names %s (%s), writing nothing',
    async (_, host) => {
      for (const url of [`https://${host}/hook`, `http://${host}:8080/hook`]) {
        const before = await tableFingerprint(database.db);
        const response = await callAs(api.url, tenant, 'POST', '/v2/webhooks', {
          url,
          events: ['*'],
        });
        const body = await readError(response);
        expect(response.status, JSON.stringify(body)).toBe(400);
        expect(body.error.code).toBe('validation_failed');
        const issues = body.error.details?.issues as { path: string; code: string }[];
        expect(issues).toEqual([expect.objectContaining({ path: 'url', code: 'private_address' })]);
        expect(changedTables(before, await tableFingerprint(database.db))).toEqual([]);
      }
    },
  );

  it('registers one whose URL names a public address: the baseline of the refusals', async () => {
    const response = await callAs(api.url, tenant, 'POST', '/v2/webhooks', {
      url: 'https://93.184.216.34/hook',
      events: ['*'],
    });
    expect(response.status).toBe(201);
  });
});
