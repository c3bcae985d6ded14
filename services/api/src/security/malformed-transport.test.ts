import { gzipSync } from 'node:zlib';
import { createTestDatabase, createTestRedis, type TestDatabase } from '@outbound/test/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TINY_PNG } from '../media/test-images.ts';
import { errorShapeProblem, prototypePolluted } from '../test-support/fuzz-checks.ts';
import { rawRequest, type RawRequest, type RawResponse } from '../test-support/raw-http.ts';
import {
  documentedOperations,
  ROUTE_EXAMPLES,
  type DocumentedOperation,
} from '../test-support/route-examples.ts';
import { seedSecurityTenant, type SecurityTenant } from '../test-support/security-world.ts';
import { changedTables, tableFingerprint } from '../test-support/table-fingerprint.ts';
import { startTestApp, type TestApp } from '../test-support/test-app.ts';

/**
 * Malformed transport against every route that takes a body (and the query strings of every
 * route): oversized, compressed, mistyped, deeply nested, huge, invalid UTF-8, out-of-range
 * numbers and prototype-polluting keys. Each answer is a 4xx in the shared error shape (or, for
 * harmless input, a success), within a few seconds, writing nothing, and Object.prototype stays
 * clean.
 */
const JSON_LIMIT_BYTES = 64 * 1024;
const EMAIL_ATTACHMENT_LIMIT = 30_000;
const TIMEOUT_MS = 5_000;

const redis = createTestRedis();
let database: TestDatabase;
let api: TestApp;
let tenant: SecurityTenant;
let bodyRoutes: DocumentedOperation[];
let allRoutes: DocumentedOperation[];

beforeAll(async () => {
  database = await createTestDatabase();
  api = await startTestApp(database, redis, {
    env: {
      JSON_BODY_LIMIT: `${JSON_LIMIT_BYTES / 1024}kb`,
      EMAIL_MAX_ATTACHMENT_BYTES: String(EMAIL_ATTACHMENT_LIMIT),
      MEDIA_MAX_BYTES: '10000',
    },
  });
  tenant = await seedSecurityTenant(database.db, api.url, api.config, 'transport');
  const document = (await (await fetch(`${api.url}/openapi.json`)).json()) as Parameters<
    typeof documentedOperations
  >[0];
  allRoutes = documentedOperations(document);
  bodyRoutes = allRoutes.filter((route) => route.takesBody);
}, 60_000);

afterAll(async () => {
  await api.stop();
  await database.drop();
  await redis.clear();
});

function targetOf(route: DocumentedOperation, query = ''): string {
  const example = ROUTE_EXAMPLES[route.key]!(tenant);
  const path = route.path.replace(/\{([^}]+)\}/g, (_, name: string) =>
    encodeURIComponent(example.params?.[name] ?? ''),
  );
  return query === '' ? path : `${path}?${query}`;
}

const auth = () => ({ Authorization: `Bearer ${tenant.key}` });

/** Sends the request and checks what every refusal must hold; answers the response. */
async function refused(request: RawRequest, statuses: readonly number[]): Promise<RawResponse> {
  const before = await tableFingerprint(database.db);
  const response = await rawRequest(api.url, request, { timeoutMs: TIMEOUT_MS });
  const what = `${request.method} ${request.target.slice(0, 120)} → ${response.status} ${response.text.slice(0, 300)}`;
  expect(statuses, what).toContain(response.status);
  expect(errorShapeProblem(response), what).toBeUndefined();
  expect(changedTables(before, await tableFingerprint(database.db)), what).toEqual([]);
  expect(prototypePolluted(), what).toEqual([]);
  return response;
}

function codeOf(response: RawResponse): string {
  return (JSON.parse(response.text) as { error: { code: string } }).error.code;
}

describe('oversized bodies', () => {
  it('answers 413 payload_too_large on every route with a body, for a body past its limit', async () => {
    expect(bodyRoutes.length).toBeGreaterThanOrEqual(6);
    // Past the email drafts route's own, larger limit too.
    const big = JSON.stringify({ text: 'x'.repeat(4 * EMAIL_ATTACHMENT_LIMIT + JSON_LIMIT_BYTES) });
    for (const route of bodyRoutes) {
      const response = await refused(
        {
          method: route.method.toUpperCase(),
          target: targetOf(route),
          headers: { ...auth(), 'Content-Type': 'application/json' },
          body: big,
        },
        [413],
      );
      expect(codeOf(response), route.key).toBe('payload_too_large');
    }
  });

  it('answers 413 to a gzip bomb, without inflating it whole', async () => {
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024, ' '));
    expect(bomb.length).toBeLessThan(JSON_LIMIT_BYTES);
    for (const route of bodyRoutes) {
      await refused(
        {
          method: route.method.toUpperCase(),
          target: targetOf(route),
          headers: { ...auth(), 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' },
          body: bomb,
        },
        [413],
      );
    }
  });

  it('answers 413 to an uploaded file past MEDIA_MAX_BYTES', async () => {
    const form = new FormData();
    form.append('session_id', tenant.sessionId);
    form.append('group_ids', tenant.groupIds[0]);
    form.append('idempotency_key', 'too-big-file');
    form.append(
      'files',
      new Blob([TINY_PNG, Buffer.alloc(20_000)], { type: 'image/png' }),
      'a.png',
    );
    const encoded = new Response(form);
    const response = await refused(
      {
        method: 'POST',
        target: '/v2/outbound/sends',
        headers: { ...auth(), 'Content-Type': encoded.headers.get('content-type')! },
        body: Buffer.from(await encoded.arrayBuffer()),
      },
      [413],
    );
    expect(codeOf(response)).toBe('payload_too_large');
  });
});

describe('content types', () => {
  it.each([
    'text/plain',
    'application/xml',
    'application/x-www-form-urlencoded',
    'application/octet-stream',
    'multipart/form-data; boundary=x',
  ])('answers 415 unsupported_media_type to %s on every JSON-only route', async (type) => {
    for (const route of bodyRoutes) {
      const takesForms = route.key === 'POST /v2/outbound/sends';
      if (takesForms && type.startsWith('multipart/')) continue;
      const response = await refused(
        {
          method: route.method.toUpperCase(),
          target: targetOf(route),
          headers: { ...auth(), 'Content-Type': type },
          body: JSON.stringify(ROUTE_EXAMPLES[route.key]!(tenant).body),
        },
        [415],
      );
      expect(codeOf(response), route.key).toBe('unsupported_media_type');
    }
  });

  it('answers 415 to a charset or content encoding it cannot read', async () => {
    for (const route of bodyRoutes) {
      const body = JSON.stringify(ROUTE_EXAMPLES[route.key]!(tenant).body);
      const variants: Record<string, string>[] = [
        { 'Content-Type': 'application/json; charset=latin1' },
        { 'Content-Type': 'application/json', 'Content-Encoding': 'x-unknown' },
      ];
      for (const headers of variants) {
        const request = {
          method: route.method.toUpperCase(),
          target: targetOf(route),
          headers: { ...auth(), ...headers },
          body,
        };
        expect(codeOf(await refused(request, [415])), route.key).toBe('unsupported_media_type');
      }
    }
  });

  it('answers 400 to a body that does not match its Content-Encoding', async () => {
    for (const route of bodyRoutes) {
      for (const encoding of ['gzip', 'deflate', 'br']) {
        await refused(
          {
            method: route.method.toUpperCase(),
            target: targetOf(route),
            headers: {
              ...auth(),
              'Content-Type': 'application/json',
              'Content-Encoding': encoding,
            },
            body: '{"not":"compressed"}',
          },
          [400],
        );
      }
    }
  });
});

describe('bodies built to exhaust the parser or the validator', () => {
  const nested = (depth: number, open: string, close: string) =>
    `${open.repeat(depth)}1${close.repeat(depth)}`;

  it.each([
    ['arrays 10,000 deep', nested(10_000, '[', ']')],
    ['objects 10,000 deep', nested(10_000, '{"a":', '}')],
    ['arrays 30,000 deep inside a field', `{"text":${nested(30_000, '[', ']')}}`],
    ['an array of 30,000 numbers', `[${Array(30_000).fill('0').join(',')}]`],
    ['an array of 10,000 objects', `{"group_ids":[${Array(10_000).fill('{}').join(',')}]}`],
  ])('refuses %s on every route with a body', async (_, body) => {
    expect(Buffer.byteLength(body)).toBeLessThan(JSON_LIMIT_BYTES);
    for (const route of bodyRoutes) {
      await refused(
        {
          method: route.method.toUpperCase(),
          target: targetOf(route),
          headers: { ...auth(), 'Content-Type': 'application/json' },
          body,
        },
        [400, 404],
      );
    }
  });

  it('refuses numbers out of every range in each numeric field', async () => {
    const schedule = (value: string) =>
      `{"session_id":"${tenant.sessionId}","group_ids":["${tenant.groupIds[0]}"],` +
      `"idempotency_key":"n-${value}","text":"x","schedule":{"first_run_at_ms":${value}}}`;
    for (const value of ['1e400', '-1e400', '1e-400', '123456789012345678901234567890', '-1']) {
      for (const target of ['/v2/outbound/sends', '/v2/outbound/drafts']) {
        await refused(
          {
            method: 'POST',
            target,
            headers: { ...auth(), 'Content-Type': 'application/json' },
            body: schedule(value),
          },
          [400],
        );
      }
    }
    for (const limit of ['1e400', '-0', '0', '1e2', '99999999999999999999', '-1', '0x10', 'NaN']) {
      for (const route of allRoutes.filter((r) => r.method === 'get')) {
        const response = await rawRequest(
          api.url,
          { method: 'GET', target: targetOf(route, `limit=${limit}`), headers: auth() },
          { timeoutMs: TIMEOUT_MS },
        );
        expect(response.status, `${route.key} limit=${limit}`).toBeLessThan(500);
      }
    }
  });
});

describe('invalid UTF-8', () => {
  const invalid = Buffer.from([0xff, 0xfe, 0xc0, 0x80, 0xed, 0xa0, 0x80]);

  it('stores invalid bytes in a body as U+FFFD, never as broken text, and never fails', async () => {
    const body = Buffer.concat([
      Buffer.from(
        `{"session_id":"${tenant.sessionId}","group_ids":["${tenant.groupIds[0]}"],"text":"a`,
      ),
      invalid,
      Buffer.from('b"}'),
    ]);
    const response = await rawRequest(
      api.url,
      {
        method: 'POST',
        target: '/v2/outbound/drafts',
        headers: { ...auth(), 'Content-Type': 'application/json' },
        body,
      },
      { timeoutMs: TIMEOUT_MS },
    );
    expect(response.status).toBe(201);
    const text = (JSON.parse(response.text) as { text: string }).text;
    expect(text.isWellFormed()).toBe(true);
    expect(text).toMatch(/^a\uFFFD+b$/);
  });

  it('refuses invalid percent-encoded UTF-8 in paths and query strings with a 400', async () => {
    for (const route of allRoutes) {
      const method = route.method.toUpperCase();
      if (route.path.includes('{')) {
        const target = route.path.replace(/\{[^}]+\}/, '%ff%fe').replace(/\{[^}]+\}/g, 'x');
        await refused({ method, target, headers: auth() }, [400, 401, 404, 405]);
      }
      const response = await rawRequest(
        api.url,
        { method, target: targetOf(route, 'cursor=%ff%fe&limit=%c0%80'), headers: auth() },
        { timeoutMs: TIMEOUT_MS },
      );
      expect(response.status, route.key).toBeLessThan(500);
    }
  });

  it('refuses an API key with bytes outside ASCII with 401', async () => {
    const latin1 = Buffer.from(`ob_${'a'.repeat(12)}_${'é'.repeat(32)}`, 'latin1').toString(
      'latin1',
    );
    const response = await refused(
      { method: 'GET', target: '/v2/me', headers: { 'X-API-Key': latin1 } },
      [401],
    );
    expect(codeOf(response)).toBe('unauthorized');
  });
});

describe('prototype pollution', () => {
  const payloads = [
    '{"__proto__":{"polluted":"yes"}}',
    '{"constructor":{"prototype":{"polluted":"yes"}}}',
    '{"prototype":{"polluted":"yes"}}',
    '{"text":{"__proto__":{"polluted":"yes"}}}',
    '[{"__proto__":{"polluted":"yes"}}]',
  ];

  it('refuses polluting keys in every body and leaves Object.prototype alone', async () => {
    for (const route of bodyRoutes) {
      for (const payload of payloads) {
        await refused(
          {
            method: route.method.toUpperCase(),
            target: targetOf(route),
            headers: { ...auth(), 'Content-Type': 'application/json' },
            body: payload,
          },
          [400, 404],
        );
      }
    }
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
  });

  it('refuses a polluting key next to a valid body by name', async () => {
    for (const route of bodyRoutes) {
      const valid = ROUTE_EXAMPLES[route.key]!(tenant).body as Record<string, unknown>;
      for (const key of ['__proto__', 'constructor', 'prototype']) {
        const body = JSON.stringify(valid).replace(/^\{/, `{"${key}":{"polluted":"yes"},`);
        const response = await refused(
          {
            method: route.method.toUpperCase(),
            target: targetOf(route),
            headers: { ...auth(), 'Content-Type': 'application/json' },
            body,
          },
          [400],
        );
        expect(response.text, route.key).toContain(key);
      }
    }
  });

  it('ignores or refuses polluting keys in every query string', async () => {
    const queries = [
      '__proto__[polluted]=yes',
      'constructor[prototype][polluted]=yes',
      '__proto__.polluted=yes',
      'constructor.prototype.polluted=yes',
      '__proto__=yes',
    ];
    for (const route of allRoutes) {
      for (const query of queries) {
        const response = await rawRequest(
          api.url,
          { method: route.method.toUpperCase(), target: targetOf(route, query), headers: auth() },
          { timeoutMs: TIMEOUT_MS },
        );
        expect(response.status, `${route.key}?${query}`).toBeLessThan(500);
        expect(prototypePolluted()).toEqual([]);
      }
    }
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
  });

  it('refuses a polluting field name in a multipart form by name', async () => {
    for (const name of ['__proto__', 'constructor', 'prototype']) {
      const form = new FormData();
      form.append('session_id', tenant.sessionId);
      form.append('group_ids', tenant.groupIds[0]);
      form.append('idempotency_key', `form-${name}`);
      form.append('text', 'hello');
      form.append(name, '{"polluted":"yes"}');
      const encoded = new Response(form);
      const response = await refused(
        {
          method: 'POST',
          target: '/v2/outbound/sends',
          headers: { ...auth(), 'Content-Type': encoded.headers.get('content-type')! },
          body: Buffer.from(await encoded.arrayBuffer()),
        },
        [400],
      );
      expect(response.text).toContain(name);
    }
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
  });
});
