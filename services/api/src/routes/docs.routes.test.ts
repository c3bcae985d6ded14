import { createTestDatabase, createTestRedis, type TestDatabase } from '@outbound/test/harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorShapeProblem } from '../test-support/fuzz-checks.ts';
import { rawRequest } from '../test-support/raw-http.ts';
import { startTestApp, type TestApp } from '../test-support/test-app.ts';

const redis = createTestRedis();
let database: TestDatabase;
let api: TestApp;

beforeAll(async () => {
  database = await createTestDatabase();
  api = await startTestApp(database, redis);
});

afterAll(async () => {
  await api.stop();
  await database.drop();
  await redis.clear();
});

/** The `src`/`href` of every script and stylesheet the page loads. */
function assetsOf(html: string): string[] {
  return [...html.matchAll(/<(?:script|link)\b[^>]*\b(?:src|href)="([^"]+)"/g)].map(
    (match) => match[1]!,
  );
}

describe('GET /docs', () => {
  it('answers an HTML page under a policy that allows only this origin', async () => {
    const response = await fetch(`${api.url}/docs`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    const policy = response.headers.get('content-security-policy') ?? '';
    expect(policy).toContain("default-src 'none'");
    expect(policy).toContain("script-src 'self'");
    expect(policy).toContain("connect-src 'self'");
    // Only 'self', 'none' and data: images: no host, no wildcard, no inline script.
    const sources = policy
      .split(';')
      .flatMap((directive) => directive.trim().split(/\s+/).slice(1));
    expect(new Set(sources)).toEqual(new Set(["'self'", "'none'", 'data:']));

    const html = await response.text();
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).not.toMatch(/<script>/);
    expect(assetsOf(html).length).toBeGreaterThanOrEqual(3);
  });

  it('serves every script and stylesheet the page loads, from the API itself', async () => {
    const html = await (await fetch(`${api.url}/docs`)).text();
    for (const path of assetsOf(html)) {
      expect(path).toMatch(/^\/docs\/assets\//);
      const response = await fetch(`${api.url}${path}`);
      expect(response.status, path).toBe(200);
      const type = response.headers.get('content-type') ?? '';
      if (path.endsWith('.js')) expect(type).toMatch(/^text\/javascript/);
      if (path.endsWith('.css')) expect(type).toMatch(/^text\/css/);
      expect((await response.arrayBuffer()).byteLength, path).toBeGreaterThan(100);
    }
    const initializer = await (await fetch(`${api.url}/docs/assets/docs.js`)).text();
    expect(initializer).toContain("url: '/openapi.json'");
    expect(initializer).toContain('validatorUrl: null');
  });

  it('answers 404 in the error shape for any other asset name', async () => {
    for (const name of [
      'index.html',
      'swagger-ui-bundle.js.map',
      '..%2Fpackage.json',
      'constructor',
    ]) {
      const response = await rawRequest(
        api.url,
        { method: 'GET', target: `/docs/assets/${name}` },
        { timeoutMs: 5_000 },
      );
      expect(response.status, name).toBe(404);
      expect(errorShapeProblem(response), name).toBeUndefined();
    }
  });
});
