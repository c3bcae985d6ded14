import type { LookupAddress } from 'node:dns';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import {
  AddressGuardError,
  bareHostname,
  parseGuardedUrl,
  pinnedLookup,
  resolveCheckedAddresses,
} from '@outbound/net-guard';

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
  try {
    return parseGuardedUrl(url, options);
  } catch (error) {
    throw asMediaFetchError(error);
  }
}

/** The host's addresses, each one checked (see `resolveCheckedAddresses`), ready to pin to. */
async function resolveChecked(
  target: URL,
  url: string,
  options: GuardedFetchOptions,
): Promise<LookupAddress[]> {
  try {
    return await resolveCheckedAddresses(target, url, options);
  } catch (error) {
    throw asMediaFetchError(error);
  }
}

/** The address guard's refusal as this fetcher reports it: same reason, words and address. */
function asMediaFetchError(error: unknown): unknown {
  if (!(error instanceof AddressGuardError)) return error;
  return new MediaFetchError(error.reason, error.url, error.detail, {
    address: error.address,
    cause: error.cause,
  });
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
  const pinned = pinnedLookup(hostname, addresses);

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
