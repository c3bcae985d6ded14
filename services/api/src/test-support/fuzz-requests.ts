import fc from 'fast-check';

/**
 * Request generators for property-based fuzzing of the HTTP routes: valid example requests
 * mutated field by field, arbitrary JSON, broken transport (content types, raw bytes, numbers
 * JSON.stringify cannot write) and hostile keys (`__proto__`, `constructor`, `prototype`).
 */

/** The valid request a route's fuzzing starts from; `params` fill the path's `{names}`. */
export interface ExampleRequest {
  params?: Readonly<Record<string, string>>;
  query?: Readonly<Record<string, string>>;
  body?: unknown;
}

/** One generated request, ready for `fetch`. */
export interface FuzzRequest {
  method: string;
  /** Path and query string, already encoded (deliberately broken at times). */
  target: string;
  headers: Record<string, string>;
  body: string | undefined;
}

/** Text spliced into the serialised JSON as is: numbers `JSON.stringify` cannot write. */
export class RawJson {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
}

const POLLUTING_KEYS = ['__proto__', 'constructor', 'prototype'] as const;

/** Strings that have broken parsers, headers, paths or databases somewhere. */
export const EDGE_STRINGS = [
  '',
  ' ',
  '\r\nBcc: victim@example.com',
  'a\u0000b',
  '\u0000',
  'x'.repeat(5_000),
  '../../etc/passwd',
  '..\\..\\windows\\win.ini',
  '%00',
  '%ff',
  '\u202egnp.exe',
  '\ud800',
  '😀'.repeat(20),
  '<script>alert(1)</script>',
  "' OR '1'='1' --",
  '${jndi:ldap://127.0.0.1/a}',
  'null',
  '-1',
  '1e400',
  'NaN',
  '0x10',
  '__proto__',
  '00000000-0000-0000-0000-000000000000',
  'ffffffff-ffff-ffff-ffff-ffffffffffff',
  '2026-02-30T25:61:00Z',
  'ob_aaaaaaaaaaaa_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
  'https://169.254.169.254/latest/meta-data/',
] as const;

/** Numbers out of every range: written raw, since JSON.stringify turns them into null or 0. */
const RAW_NUMBERS = [
  '1e400',
  '-1e400',
  '-0',
  '1e-400',
  '123456789012345678901234567890',
  '9007199254740993',
  '-9223372036854775809',
  '0.5',
  '-1',
] as const;

const edgeString = fc.constantFrom(...EDGE_STRINGS);
const rawNumber = fc.constantFrom(...RAW_NUMBERS).map((text) => new RawJson(text));

/** Any JSON value, a hostile string or an out-of-range number. */
export const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 2, arbitrary: edgeString },
  { weight: 1, arbitrary: rawNumber },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
);

/** Object keys: ordinary, misspelt, and the ones that pollute prototypes. */
export const hostileKey: fc.Arbitrary<string> = fc.oneof(
  { weight: 2, arbitrary: fc.constantFrom(...POLLUTING_KEYS) },
  { weight: 2, arbitrary: fc.string({ maxLength: 12 }) },
  { weight: 1, arbitrary: edgeString },
);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `value` with own property `key` set, even for `__proto__` (which `=` would not create). */
function withKey(value: Record<string, unknown>, key: string, next: unknown): object {
  return Object.fromEntries([
    ...Object.entries(value).filter(([name]) => name !== key),
    [key, next],
  ]);
}

function withoutKey(value: Record<string, unknown>, key: string): object {
  return Object.fromEntries(Object.entries(value).filter(([name]) => name !== key));
}

/** A replacement for a leaf, most often a hostile value of the leaf's own type. */
function replaceLeaf(value: unknown): fc.Arbitrary<unknown> {
  if (typeof value === 'string') {
    return fc.oneof(
      { weight: 3, arbitrary: edgeString },
      { weight: 1, arbitrary: fc.constant(`${value}\u0000`) },
      { weight: 2, arbitrary: hostileValue },
    );
  }
  if (typeof value === 'number') {
    return fc.oneof({ weight: 2, arbitrary: rawNumber }, { weight: 2, arbitrary: hostileValue });
  }
  return hostileValue;
}

/** One change somewhere inside `value`: a replaced, dropped, added or multiplied part. */
export function mutate(value: unknown, depth = 0): fc.Arbitrary<unknown> {
  if (depth > 4) return replaceLeaf(value);
  if (Array.isArray(value)) {
    const items: unknown[] = value;
    if (items.length === 0) {
      return fc.oneof(hostileValue, fc.array(hostileValue, { minLength: 1, maxLength: 5 }));
    }
    const last = items.length - 1;
    return fc.oneof(
      hostileValue,
      fc
        .nat(last)
        .chain((index) => mutate(items[index], depth + 1).map((next) => items.with(index, next))),
      fc.nat(last).map((index) => items.toSpliced(index, 1)),
      fc.constant([...items, ...items]),
      fc.integer({ min: 101, max: 3_000 }).map((count) => Array<unknown>(count).fill(items[0])),
    );
  }
  if (isRecord(value)) {
    const keys = Object.keys(value);
    const added = fc
      .tuple(hostileKey, hostileValue)
      .map(([key, next]) => withKey(value, key, next));
    if (keys.length === 0) return fc.oneof(hostileValue, added);
    return fc.oneof(
      hostileValue,
      fc
        .constantFrom(...keys)
        .chain((key) => mutate(value[key], depth + 1).map((next) => withKey(value, key, next))),
      fc.constantFrom(...keys).map((key) => withoutKey(value, key)),
      added,
    );
  }
  return replaceLeaf(value);
}

/** JSON text of `value`, with `RawJson` parts spliced in as they are. */
export function toJsonText(value: unknown): string {
  if (value instanceof RawJson) return value.text;
  if (Array.isArray(value)) return `[${value.map((item) => toJsonText(item)).join(',')}]`;
  if (isRecord(value)) {
    const members = Object.keys(value).map(
      (key) => `${JSON.stringify(key)}:${toJsonText(value[key])}`,
    );
    return `{${members.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** A body: the example mutated (once or twice), itself, any JSON, or text that is not JSON. */
function bodyText(example: unknown): fc.Arbitrary<string> {
  const mutated = mutate(example).chain((once) =>
    fc.oneof({ weight: 2, arbitrary: fc.constant(once) }, { weight: 1, arbitrary: mutate(once) }),
  );
  const valid = toJsonText(example);
  return fc.oneof(
    { weight: 8, arbitrary: mutated.map(toJsonText) },
    { weight: 1, arbitrary: fc.constant(valid) },
    { weight: 2, arbitrary: fc.jsonValue().map(toJsonText) },
    { weight: 1, arbitrary: fc.nat(valid.length).map((cut) => valid.slice(0, cut)) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 60 }) },
  );
}

const JSON_TYPE = 'application/json';

/** Content types a JSON route may be sent: mostly JSON, at times anything else. */
const contentType: fc.Arbitrary<string | undefined> = fc.oneof(
  { weight: 12, arbitrary: fc.constant(JSON_TYPE) },
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      undefined,
      'application/json; charset=utf-8',
      'application/json; charset=latin1',
      'application/json; charset=utf-16',
      'application/merge-patch+json',
      'text/plain',
      'text/json',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=fuzz',
      'multipart/form-data',
      'application/xml',
      '*/*',
      'application/octet-stream',
      'json',
      '',
    ),
  },
);

/** Query strings: the example's, mutated; hostile keys; repeated keys; broken escapes. */
function queryString(example: Readonly<Record<string, string>>): fc.Arbitrary<string> {
  const entries = Object.entries(example);
  const queryValue = fc.oneof(edgeString, fc.string({ maxLength: 20 }), fc.integer().map(String));
  const queryKey = fc.oneof(
    hostileKey,
    fc.constantFrom(
      '__proto__[polluted]',
      'constructor[prototype][polluted]',
      '__proto__.polluted',
      'a[b][c]',
      'limit[]',
    ),
    ...(entries.length > 0 ? [fc.constantFrom(...entries.map(([key]) => key))] : []),
  );
  const change = fc.oneof(
    fc
      .tuple(queryKey, queryValue)
      .map(([key, value]) => (list: [string, string][]) => [
        ...list,
        [key, value] as [string, string],
      ]),
    fc.tuple(fc.nat(), queryValue).map(([at, value]) => (list: [string, string][]) => {
      if (list.length === 0) return list;
      const index = at % list.length;
      return list.with(index, [list[index]![0], value]);
    }),
    fc
      .nat()
      .map(
        (at) => (list: [string, string][]) =>
          list.length === 0 ? list : list.toSpliced(at % list.length, 1),
      ),
  );
  const encoded = fc
    .array(change, { maxLength: 3 })
    .map((changes) => changes.reduce((list, apply) => apply(list), entries))
    .map((list) => new URLSearchParams(list).toString());
  return fc.oneof(
    { weight: 6, arbitrary: encoded },
    { weight: 1, arbitrary: encoded.map((query) => `${query}&%zz=%ff&x=%E0%A4%A`) },
  );
}

/** Percent-encodes text, lone surrogates (which encodeURIComponent refuses) as U+FFFD. */
function encodeSegment(text: string): string {
  return encodeURIComponent(text.toWellFormed());
}

/** A path parameter: the example's, another valid-looking value, or something broken. */
function pathSegment(valid: string): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 6, arbitrary: fc.constant(encodeSegment(valid)) },
    {
      weight: 3,
      arbitrary: fc
        .oneof(
          edgeString,
          fc.uuid(),
          fc.string({ maxLength: 30 }),
          fc.integer().map(String),
          fc.bigInt({ min: 0n, max: 10n ** 30n }).map(String),
          fc.constant(valid.toUpperCase()),
          fc.constant(`${valid} `),
        )
        .filter((text) => text !== '' && text !== '.' && text !== '..')
        .map(encodeSegment),
    },
    { weight: 1, arbitrary: fc.constantFrom('%ff', '%zz', '%E0%A4%A', '%00', 'a%2F..%2Fb') },
  );
}

/** Header values fetch can send: printable ASCII. */
const headerValue = fc.oneof(
  fc.string({ unit: 'grapheme-ascii', maxLength: 60 }),
  fc.constantFrom(
    'x'.repeat(4_000),
    '<script>',
    'ob_aaaaaaaaaaaa_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
  ),
);

export interface RouteFuzzTarget {
  method: string;
  /** OpenAPI path, `{names}` for parameters. */
  path: string;
  /** The route requires an API key. */
  authenticated: boolean;
  /** The route takes a JSON body. */
  takesBody: boolean;
}

export interface FuzzKeys {
  /** The key requests are mostly made with. */
  own: string;
  /** A revoked key, and one of another organization. */
  others: readonly string[];
}

/** Authentication headers: mostly the caller's key, at times none, a bad one or another's. */
function authHeaders(keys: FuzzKeys): fc.Arbitrary<Record<string, string>> {
  return fc.oneof(
    { weight: 10, arbitrary: fc.constant({ Authorization: `Bearer ${keys.own}` }) },
    { weight: 2, arbitrary: fc.constant({ 'X-API-Key': keys.own }) },
    {
      weight: 3,
      arbitrary: fc.oneof(
        fc.constant({}),
        fc.constantFrom(...keys.others).map((key) => ({ Authorization: `Bearer ${key}` })),
        headerValue.map((value) => ({ Authorization: value })),
        headerValue.map((value) => ({ 'X-API-Key': value })),
        fc.constant({ Authorization: `Basic ${Buffer.from('a:b').toString('base64')}` }),
      ),
    },
  );
}

/** Requests for one route, built around its valid example. */
export function fuzzRequests(
  route: RouteFuzzTarget,
  example: ExampleRequest,
  keys: FuzzKeys,
): fc.Arbitrary<FuzzRequest> {
  const names = [...route.path.matchAll(/\{([^}]+)\}/g)].map((match) => match[1]!);
  const segments: fc.Arbitrary<string[]> = fc.tuple<string[]>(
    ...names.map((name) => pathSegment(example.params?.[name] ?? 'missing')),
  );
  const body = route.takesBody
    ? fc.tuple(contentType, bodyText(example.body ?? {}))
    : fc.oneof(
        { weight: 6, arbitrary: fc.constant([undefined, undefined] as const) },
        { weight: 1, arbitrary: fc.tuple(contentType, fc.jsonValue().map(toJsonText)) },
      );
  const extra = fc.record(
    {
      'X-Request-Id': headerValue,
      Accept: fc.constantFrom('application/json', 'text/html', '*/*', 'image/png', ''),
      'Idempotency-Key': headerValue,
      'Content-Encoding': fc.constantFrom('identity', 'gzip', 'br', 'x-unknown'),
    },
    { requiredKeys: [] },
  );
  return fc
    .record({
      segments,
      query: queryString(example.query ?? {}),
      body,
      auth: route.authenticated ? authHeaders(keys) : fc.constant({}),
      extra,
    })
    .map(({ segments: values, query, body: [type, text], auth, extra: more }) => {
      let index = 0;
      const path = route.path.replace(/\{[^}]+\}/g, () => values[index++] ?? '');
      const headers: Record<string, string> = { ...more, ...auth };
      if (type !== undefined) headers['Content-Type'] = type;
      return {
        method: route.method.toUpperCase(),
        target: query === '' ? path : `${path}?${query}`,
        headers,
        body: text,
      };
    });
}
