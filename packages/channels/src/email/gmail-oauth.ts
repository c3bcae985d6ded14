import { createHash } from 'node:crypto';
import { z } from 'zod';
import { RetryableDeliveryError } from '../delivery-errors.ts';
import { callProvider, callSignal, type ProviderResponse, transportError } from '../http-calls.ts';
import { tokenEndpointError } from './gmail.responses.ts';
import type { GmailCredentials, GmailSettings } from './gmail.settings.ts';

/** An access token and when it stops working (epoch ms). */
export interface GmailAccessToken {
  value: string;
  expiresAt: number;
}

/**
 * Access tokens kept between sends, keyed by grant (token endpoint, client and refresh token,
 * hashed). Adapters are built per delivery, so a process that sends much Gmail should build one
 * cache at its composition root and hand it to every adapter (`AdapterDeps.gmailTokens`);
 * without one, each adapter keeps its own. Entries are promises, so concurrent sends of one
 * sender share one refresh. It holds live access tokens: never log it.
 */
export interface GmailTokenCache {
  get(key: string): Promise<GmailAccessToken> | undefined;
  set(key: string, token: Promise<GmailAccessToken>): void;
  /** Drops `key`'s entry if it is still `token`, so a newer token another send fetched stays. */
  delete(key: string, token: Promise<GmailAccessToken>): void;
}

export function createGmailTokenCache(): GmailTokenCache {
  const entries = new Map<string, Promise<GmailAccessToken>>();
  return {
    get: (key) => entries.get(key),
    set: (key, token) => void entries.set(key, token),
    delete: (key, token) => {
      if (entries.get(key) === token) entries.delete(key);
    },
  };
}

/** A token is refreshed this long before Google says it expires, so none dies mid-call. */
export const TOKEN_REFRESH_MARGIN_MS = 60_000;

/** An access token to call the API with, and how to drop it when the API refuses it. */
export interface AccessLease {
  token: string;
  /** Forgets this token (the API answered 401), so the next `lease` refreshes. */
  invalidate(): void;
}

export interface AccessTokenSource {
  /** A cached token that is not about to expire, or a new one from the token endpoint. */
  lease(signal: AbortSignal | undefined): Promise<AccessLease>;
}

export interface AccessTokenSourceOptions {
  settings: GmailSettings;
  credentials: GmailCredentials;
  cache: GmailTokenCache;
  timeoutMs: number;
  now?: () => number;
}

const tokenAnswerSchema = z.object({
  access_token: z.string().min(1),
  expires_in: z.coerce.number().positive(),
});

/**
 * Exchanges the sender's refresh token for access tokens (RFC 6749 §6, as Google speaks it:
 * a form-encoded POST with `grant_type=refresh_token`, the client id and secret, and the
 * refresh token), caching each until `TOKEN_REFRESH_MARGIN_MS` before it expires.
 *
 * A refresh runs under its own `timeoutMs` only: a caller that gives up (its signal) stops
 * waiting with a retryable `timeout`, but the refresh goes on for the sends that share it.
 * A failed refresh is not cached. Errors are `tokenEndpointError`'s, or retryable `timeout` /
 * `connection_failed`; an answer without a token is a retryable `provider_unavailable` (nothing
 * was sent yet, so trying again is safe).
 */
export function createAccessTokenSource(options: AccessTokenSourceOptions): AccessTokenSource {
  const { settings, credentials, cache, timeoutMs } = options;
  const now = options.now ?? Date.now;
  const key = createHash('sha256')
    .update([settings.token_url, credentials.client_id, credentials.refresh_token].join('\n'))
    .digest('hex');

  async function refresh(): Promise<GmailAccessToken> {
    const signal = callSignal(timeoutMs, undefined);
    const form = new URLSearchParams({
      grant_type: 'refresh_token',
      client_id: credentials.client_id,
      client_secret: credentials.client_secret,
      refresh_token: credentials.refresh_token,
    });
    let response: ProviderResponse;
    let text: string;
    try {
      response = await callProvider(new URL(settings.token_url), {
        method: 'POST',
        headers: {
          accept: 'application/json',
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: form.toString(),
        signal,
      });
      text = await response.text();
    } catch (error) {
      throw transportError('gmail token endpoint', error, signal, timeoutMs);
    }
    if (!response.ok) throw tokenEndpointError(response, text);
    const answer = tokenAnswerSchema.safeParse(parseJson(text));
    if (!answer.success) {
      throw new RetryableDeliveryError(
        'provider_unavailable',
        `gmail token endpoint answered ${response.status} without an access token`,
      );
    }
    return {
      value: answer.data.access_token,
      expiresAt: now() + answer.data.expires_in * 1_000,
    };
  }

  function start(): Promise<GmailAccessToken> {
    const pending = refresh();
    cache.set(key, pending);
    pending.catch(() => cache.delete(key, pending));
    return pending;
  }

  async function leaseOf(
    pending: Promise<GmailAccessToken>,
    signal: AbortSignal | undefined,
  ): Promise<AccessLease> {
    const token = await untilAborted(pending, signal);
    return { token: token.value, invalidate: () => cache.delete(key, pending) };
  }

  return {
    async lease(signal) {
      if (signal?.aborted === true) throw aborted();
      const cached = cache.get(key);
      if (cached === undefined) return leaseOf(start(), signal);
      const token = await untilAborted(cached, signal);
      if (token.expiresAt - TOKEN_REFRESH_MARGIN_MS > now()) {
        return { token: token.value, invalidate: () => cache.delete(key, cached) };
      }
      cache.delete(key, cached);
      // Another send may have started a refresh while this one waited: share it.
      return leaseOf(cache.get(key) ?? start(), signal);
    },
  };
}

/** `promise`, unless `signal` fires first: then a retryable `timeout`. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) return Promise.reject(aborted());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(aborted());
    signal.addEventListener('abort', onAbort, { once: true });
    void promise.finally(() => signal.removeEventListener('abort', onAbort)).then(resolve, reject);
  });
}

function aborted(): RetryableDeliveryError {
  return new RetryableDeliveryError(
    'timeout',
    'gmail token endpoint: the send was aborted while waiting for an access token',
  );
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
