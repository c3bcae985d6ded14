import type { LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import {
  AddressGuardError,
  type AddressGuardOptions,
  bareHostname,
  parseGuardedUrl,
  pinnedLookup,
  resolveCheckedAddresses,
} from '@outbound/net-guard';

export interface WebhookPostOptions extends AddressGuardOptions {
  /** Budget of the whole call: lookup, connection and the answer's status line. */
  timeoutMs: number;
}

/** How a call ended without an HTTP answer, or why it was never made. */
export type WebhookCallFailure =
  'timeout' | 'connection_failed' | 'dns_failed' | 'private_address' | 'not_https';

/** What the endpoint answered, or why there was no answer. `message` is safe to store. */
export type WebhookCallResult =
  | { answered: true; status: number }
  | { answered: false; reason: WebhookCallFailure; message: string };

/**
 * POSTs `body` to a caller-supplied webhook URL under the same SSRF rules as media fetches
 * (DESIGN §7): https only (unless `allowHttp`), the host resolved and every address checked
 * (`@outbound/net-guard`), and the connection pinned to the checked addresses, so a DNS answer
 * that changes after the check cannot point the call elsewhere. Redirects are not followed:
 * a 3xx is an answer like any other non-2xx. The answer's body is not read.
 *
 * Never throws: every outcome is a `WebhookCallResult`. Its messages name no address, no
 * header and nothing of the body.
 */
export async function postWebhook(
  url: string,
  body: string,
  headers: Readonly<Record<string, string>>,
  options: WebhookPostOptions,
): Promise<WebhookCallResult> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<WebhookCallResult>((resolve) => {
    timer = setTimeout(() => {
      controller.abort();
      resolve(refused('timeout', `no answer within ${options.timeoutMs} ms`));
    }, options.timeoutMs);
  });
  const call = async (): Promise<WebhookCallResult> => {
    try {
      const target = parseGuardedUrl(url, options);
      const addresses = await resolveCheckedAddresses(target, url, options);
      controller.signal.throwIfAborted();
      return await requestOnce(target, addresses, body, headers, controller.signal);
    } catch (error) {
      if (error instanceof AddressGuardError) return refused(error.reason, error.detail);
      return refused('connection_failed', 'the connection failed');
    }
  };
  try {
    return await Promise.race([call(), timedOut]);
  } finally {
    clearTimeout(timer);
    controller.abort();
  }
}

function refused(reason: WebhookCallFailure, message: string): WebhookCallResult {
  return { answered: false, reason, message };
}

function requestOnce(
  target: URL,
  addresses: readonly LookupAddress[],
  body: string,
  headers: Readonly<Record<string, string>>,
  signal: AbortSignal,
): Promise<WebhookCallResult> {
  return new Promise((resolve, reject) => {
    const request = (target.protocol === 'https:' ? https : http).request(
      {
        protocol: target.protocol,
        hostname: bareHostname(target),
        port: target.port === '' ? undefined : Number(target.port),
        path: `${target.pathname}${target.search}`,
        method: 'POST',
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
        // A fresh connection per call: a pooled socket could lead somewhere never checked.
        agent: false,
        lookup: pinnedLookup(bareHostname(target), addresses),
        signal,
      },
      (response) => {
        // Only the status matters; the rest of the answer is dropped with the connection.
        resolve({ answered: true, status: response.statusCode ?? 0 });
        response.destroy();
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}
