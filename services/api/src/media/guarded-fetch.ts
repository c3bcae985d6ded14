import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';

/** Why a guarded fetch was refused or failed. */
export type MediaFetchFailure =
  | 'not_https'
  | 'private_address'
  | 'dns_failed'
  | 'too_large'
  | 'timeout'
  | 'http_status'
  | 'too_many_redirects'
  | 'connection_failed';

/**
 * A refused or failed guarded fetch. `message` names the URL and says what went wrong in words
 * safe to show the caller who supplied the URL: it never holds a resolved address or a socket
 * error (those stay on `address` and `cause`, for logs).
 */
export class MediaFetchError extends Error {
  override readonly name = 'MediaFetchError';
  readonly reason: MediaFetchFailure;
  /** The URL the caller asked for (the message also names the redirect hop that failed). */
  readonly url: string;
  /** The upstream status, for `http_status`. */
  readonly status: number | undefined;
  /** The refused address, for `private_address`. Not for clients. */
  readonly address: string | undefined;
  /** `message` without the URL in front. */
  readonly detail: string;

  constructor(
    reason: MediaFetchFailure,
    url: string,
    message: string,
    extra: { status?: number; address?: string; cause?: unknown } = {},
  ) {
    super(`${url}: ${message}`, extra.cause === undefined ? undefined : { cause: extra.cause });
    this.reason = reason;
    this.url = url;
    this.detail = message;
    this.status = extra.status;
    this.address = extra.address;
  }
}

export interface GuardedFetchOptions {
  /** Largest body accepted; the download is aborted as soon as it goes past this. */
  maxBytes: number;
  /** Budget for the whole fetch: every lookup, redirect and byte of the body. */
  timeoutMs: number;
  /**
   * Hostnames (or IP literals) exempt from the address check, e.g. a trusted internal media
   * host. Matched exactly, case-insensitively. Everything else still applies.
   */
  allowHosts?: readonly string[];
  /** Accept `http:` URLs as well as `https:` (development and tests only). */
  allowHttp?: boolean;
  /** Resolves a hostname to every address it has. Defaults to the OS resolver (`dns.lookup`). */
  resolve?: (hostname: string) => Promise<string[]>;
  /** Redirects followed before giving up; each hop is checked again. Default 3. */
  maxRedirects?: number;
}

export interface GuardedFetchResult {
  data: Buffer;
  /** The response's Content-Type header, unverified: check the bytes, not this. */
  contentType: string | undefined;
  /** The URL the body came from, after redirects. */
  finalUrl: string;
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const DEFAULT_MAX_REDIRECTS = 3;

/**
 * Fetches a caller-supplied URL without letting the caller reach our own network (SSRF).
 *
 * Guarantees: only `https:` (and `http:` when `allowHttp`); the hostname is resolved and every
 * address must be globally routable unicast (loopback, RFC 1918, link-local, unique-local,
 * CGNAT, unspecified, multicast, broadcast, reserved, documentation, IPv4-mapped/compatible
 * and NAT64 forms of any of these are all refused) unless the host is allow-listed; the
 * connection goes to the checked addresses and nowhere else (the socket's lookup is pinned,
 * so a DNS answer that changes between check and connect changes nothing); redirects are
 * followed by hand and every hop is checked the same way; the body is cut off past
 * `maxBytes`; the whole fetch is bounded by `timeoutMs`.
 *
 * Leaves out: what the body is. Callers check the bytes (see `sniffImageType`).
 */
export async function guardedFetch(
  url: string,
  options: GuardedFetchOptions,
): Promise<GuardedFetchResult> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  let current = url;
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new MediaFetchError('timeout', current, `took longer than ${options.timeoutMs} ms`));
    }, options.timeoutMs);
  });
  const follow = async (): Promise<GuardedFetchResult> => {
    const maxRedirects = options.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
    for (let redirects = 0; ; redirects += 1) {
      const target = checkUrl(current, options);
      const addresses = await resolveChecked(target, current, options);
      controller.signal.throwIfAborted();
      const outcome = await requestOnce(target, addresses, options, controller.signal);
      if (outcome.kind === 'body') return { ...outcome, finalUrl: current };
      if (redirects >= maxRedirects) {
        throw new MediaFetchError(
          'too_many_redirects',
          url,
          `redirected more than ${maxRedirects} times`,
        );
      }
      current = redirectTarget(outcome.location, target, current);
    }
  };
  try {
    return await Promise.race([follow(), timedOut]);
  } catch (error) {
    // Name the caller's URL first, whichever hop failed.
    if (error instanceof MediaFetchError && error.url !== url) {
      throw new MediaFetchError(error.reason, url, `after a redirect, ${error.message}`, {
        status: error.status,
        address: error.address,
        cause: error,
      });
    }
    throw error;
  } finally {
    clearTimeout(timer);
    // Stops whatever is still running after a failure (a lookup that answers late, a socket).
    controller.abort();
  }
}

function redirectTarget(location: string, base: URL, url: string): string {
  try {
    return new URL(location, base).href;
  } catch {
    throw new MediaFetchError('not_https', url, 'redirected to an invalid URL');
  }
}

function checkUrl(url: string, options: GuardedFetchOptions): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new MediaFetchError('not_https', url, 'is not a valid URL');
  }
  const allowed = options.allowHttp === true ? ['https:', 'http:'] : ['https:'];
  if (!allowed.includes(parsed.protocol)) {
    throw new MediaFetchError('not_https', url, 'is not an https URL');
  }
  return parsed;
}

/** The host's addresses, each one checked, ready to pin the connection to. */
async function resolveChecked(
  target: URL,
  url: string,
  options: GuardedFetchOptions,
): Promise<LookupAddress[]> {
  const hostname = bareHostname(target);
  const allowListed = (options.allowHosts ?? []).some((host) => host.toLowerCase() === hostname);
  if (!allowListed && isLocalhostName(hostname)) {
    // RFC 6761: these are loopback whatever a resolver answers (or fails to answer) for them.
    throw new MediaFetchError(
      'private_address',
      url,
      `${hostname} is a loopback name, which is refused`,
    );
  }
  let addresses: string[];
  if (isIP(hostname) !== 0) {
    addresses = [hostname];
  } else {
    try {
      addresses = await (options.resolve ?? resolveWithOs)(hostname);
    } catch (error) {
      throw new MediaFetchError('dns_failed', url, `could not resolve ${hostname}`, {
        cause: error,
      });
    }
    if (addresses.length === 0) {
      throw new MediaFetchError('dns_failed', url, `${hostname} has no addresses`);
    }
  }
  return addresses.map((address) => {
    const family = isIP(address);
    if (family === 0) {
      throw new MediaFetchError('dns_failed', url, `${hostname} resolved to a non-address`);
    }
    const refused = allowListed ? undefined : refusedRange(address);
    if (refused !== undefined) {
      throw new MediaFetchError(
        'private_address',
        url,
        `${hostname} resolves to a private or reserved address (${refused}), which is refused`,
        { address },
      );
    }
    return { address, family };
  });
}

/** `localhost`, `localhost.` or a name under `.localhost`: loopback by definition (RFC 6761). */
export function isLocalhostName(hostname: string): boolean {
  const name = hostname.toLowerCase().replace(/\.$/, '');
  return name === 'localhost' || name.endsWith('.localhost');
}

function bareHostname(target: URL): string {
  const host = target.hostname.toLowerCase();
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

async function resolveWithOs(hostname: string): Promise<string[]> {
  return new Promise((resolve, reject) => {
    dnsLookup(hostname, { all: true, verbatim: true }, (error, addresses) => {
      if (error) reject(error);
      else resolve(addresses.map((entry) => entry.address));
    });
  });
}

const IPV4_COMPATIBLE = ipaddr.IPv6.parseCIDR('::/96');

/**
 * The name of the special range an address falls in, or undefined when it is ordinary
 * globally routable unicast. Anything ipaddr.js does not call `unicast` is refused, which also
 * covers 6to4, Teredo and NAT64 forms that could wrap a private IPv4 address.
 */
export function refusedRange(address: string): string | undefined {
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6') {
    const v6 = parsed as ipaddr.IPv6;
    if (v6.isIPv4MappedAddress()) {
      parsed = v6.toIPv4Address();
    } else {
      const range = v6.range();
      if (range !== 'unicast') return range;
      // Deprecated IPv4-compatible addresses (::a.b.c.d); ipaddr.js calls them unicast.
      return v6.match(IPV4_COMPATIBLE) ? 'ipv4Compatible' : undefined;
    }
  }
  const range = parsed.range();
  return range === 'unicast' ? undefined : range;
}

type Outcome =
  | { kind: 'body'; data: Buffer; contentType: string | undefined }
  | { kind: 'redirect'; location: string };

function requestOnce(
  target: URL,
  addresses: readonly LookupAddress[],
  options: GuardedFetchOptions,
  signal: AbortSignal,
): Promise<Outcome> {
  const url = target.href;
  const hostname = bareHostname(target);
  // The socket connects to the addresses checked above and never asks DNS again.
  const pinned: LookupFunction = (name, lookupOptions, callback) => {
    if (name.toLowerCase() !== hostname) {
      callback(new Error(`unexpected lookup of ${name}`), '', 0);
    } else if (lookupOptions.all === true) {
      callback(null, [...addresses]);
    } else {
      const [first] = addresses;
      if (first === undefined) callback(new Error(`no checked address for ${name}`), '', 0);
      else callback(null, first.address, first.family);
    }
  };

  return new Promise((resolve, reject) => {
    let settled = false;
    let response: IncomingMessage | undefined;
    const fail = (error: MediaFetchError): void => {
      if (settled) return;
      settled = true;
      response?.destroy();
      request.destroy();
      reject(error);
    };
    const onResponse = (incoming: IncomingMessage): void => {
      response = incoming;
      const status = incoming.statusCode ?? 0;
      const location = incoming.headers.location;
      if (REDIRECT_STATUSES.has(status) && location !== undefined) {
        settled = true;
        incoming.destroy();
        resolve({ kind: 'redirect', location });
        return;
      }
      if (status < 200 || status > 299) {
        fail(new MediaFetchError('http_status', url, `answered HTTP ${status}`, { status }));
        return;
      }
      const tooLarge = (): MediaFetchError =>
        new MediaFetchError('too_large', url, `is larger than ${options.maxBytes} bytes`);
      const declared = Number(incoming.headers['content-length']);
      if (Number.isFinite(declared) && declared > options.maxBytes) {
        fail(tooLarge());
        return;
      }
      const chunks: Buffer[] = [];
      let received = 0;
      incoming.on('data', (chunk: Buffer) => {
        received += chunk.length;
        if (received > options.maxBytes) fail(tooLarge());
        else chunks.push(chunk);
      });
      incoming.on('end', () => {
        if (settled) return;
        settled = true;
        resolve({
          kind: 'body',
          data: Buffer.concat(chunks, received),
          contentType: incoming.headers['content-type'],
        });
      });
      const cutOff = (cause?: unknown): void =>
        fail(
          new MediaFetchError('connection_failed', url, 'closed before the body ended', { cause }),
        );
      incoming.on('error', cutOff);
      incoming.on('close', () => {
        if (!incoming.complete) cutOff();
      });
    };
    const request = (target.protocol === 'https:' ? https : http).request(
      {
        protocol: target.protocol,
        hostname,
        port: target.port === '' ? undefined : Number(target.port),
        path: `${target.pathname}${target.search}`,
        method: 'GET',
        headers: {
          accept: 'image/jpeg, image/png, image/webp, image/*;q=0.8',
          'user-agent': 'Outbound-Media-Fetcher/1',
        },
        // A fresh connection per hop: a pooled socket could lead somewhere never checked.
        agent: false,
        lookup: pinned,
        signal,
      },
      onResponse,
    );
    request.on('error', (error) => {
      fail(new MediaFetchError('connection_failed', url, 'could not be fetched', { cause: error }));
    });
    request.end();
  });
}
