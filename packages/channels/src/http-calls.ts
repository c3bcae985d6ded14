import { Agent, request } from 'undici';
import { RetryableDeliveryError } from './delivery-errors.ts';

/**
 * Keep-alive connections shared by every provider call of the process. Calls go through
 * undici's `request` rather than `fetch`: the same HTTP client without the web-streams layer,
 * at a fraction of the cost per call, which matters when a dispatcher makes thousands a second.
 */
const providerAgent = new Agent({ keepAliveTimeout: 10_000 });

/** What a provider answered. The body is read on its own, so a cut-off answer can be told apart. */
export interface ProviderResponse {
  status: number;
  ok: boolean;
  headers: Headers;
  /** Reads the whole body; every caller must read it, which frees the connection. */
  text(): Promise<string>;
}

export interface ProviderRequest {
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
  signal: AbortSignal;
}

/**
 * One HTTP call to a provider. Redirects are not followed (a provider that redirects is
 * misconfigured, and following could leave the host the operator named); it rejects when no
 * answer came (see `transportError`).
 */
export async function callProvider(url: URL, init: ProviderRequest): Promise<ProviderResponse> {
  const answer = await request(url, {
    method: init.method,
    headers: init.headers,
    body: init.body ?? null,
    signal: init.signal,
    dispatcher: providerAgent,
  });
  const headers = new Headers();
  for (const [name, value] of Object.entries(answer.headers)) {
    if (value === undefined) continue;
    for (const each of Array.isArray(value) ? value : [value]) headers.append(name, each);
  }
  return {
    status: answer.statusCode,
    ok: answer.statusCode >= 200 && answer.statusCode < 300,
    headers,
    text: () => answer.body.text(),
  };
}

/**
 * The signal one provider call runs under: its own `timeoutMs`, and the caller's signal when it
 * gave one. `transportError` reads it to tell a timeout from a connection failure.
 */
export function callSignal(timeoutMs: number, callerSignal: AbortSignal | undefined): AbortSignal {
  const timeout = AbortSignal.timeout(timeoutMs);
  return callerSignal === undefined ? timeout : AbortSignal.any([timeout, callerSignal]);
}

/**
 * What a call that got no answer means: a retryable `timeout` when its signal fired (`timeoutMs`
 * ran out, or the caller aborted), a retryable `connection_failed` otherwise (refused, reset,
 * DNS). `what` names the call in the message, e.g. `waha sendText`.
 */
export function transportError(
  what: string,
  error: unknown,
  signal: AbortSignal,
  timeoutMs: number,
): RetryableDeliveryError {
  if (signal.aborted) {
    const reason: unknown = signal.reason;
    const why =
      reason instanceof DOMException && reason.name === 'TimeoutError'
        ? `no answer within ${timeoutMs} ms`
        : 'the send was aborted';
    return new RetryableDeliveryError('timeout', `${what}: ${why}`, { cause: error });
  }
  return new RetryableDeliveryError(
    'connection_failed',
    `${what}: could not complete the call (${describeFailure(error)})`,
    { cause: error },
  );
}

/** The failure's code and message (ECONNREFUSED, UND_ERR_SOCKET...), or its cause's. */
function describeFailure(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause: unknown = error.cause;
  const failure = cause instanceof Error ? cause : error;
  const code = (failure as { code?: unknown }).code;
  return typeof code === 'string' ? `${code}: ${failure.message}` : failure.message;
}

/**
 * `Retry-After` in milliseconds: delay-seconds, or an HTTP date (a date already past is 0).
 * Anything else is ignored.
 */
export function parseRetryAfter(
  value: string | null,
  now: number = Date.now(),
): number | undefined {
  if (value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1_000;
  const at = Date.parse(trimmed);
  if (Number.isNaN(at) || !/[a-z]/i.test(trimmed)) return undefined;
  return Math.max(0, at - now);
}

/** A provider's words on one line, cut to a length a log line and an error column can hold. */
export function clip(text: string): string {
  const oneLine = text.replaceAll(/\s+/g, ' ').trim();
  return oneLine.length > 300 ? `${oneLine.slice(0, 300)}…` : oneLine;
}
