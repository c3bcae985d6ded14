import {
  parseMessage,
  type ChannelAdapter,
  type SendRequest,
  type SendResult,
} from '../channel-adapter.ts';
import { PermanentDeliveryError, RetryableDeliveryError } from '../delivery-errors.ts';
import { callProvider, callSignal, type ProviderResponse, transportError } from '../http-calls.ts';
import {
  createAccessTokenSource,
  createGmailTokenCache,
  type AccessLease,
  type GmailTokenCache,
} from './gmail-oauth.ts';
import { sendError, sentMessageId } from './gmail.responses.ts';
import type { GmailCredentials, GmailSettings } from './gmail.settings.ts';
import { composeEmail } from './mime-message.ts';

/** How long one Gmail call (token refresh or send) may take when the dispatcher does not say. */
export const DEFAULT_GMAIL_TIMEOUT_MS = 15_000;

export interface GmailAdapterOptions {
  settings: GmailSettings;
  /** The OAuth client and refresh token; never in an error message. */
  credentials: GmailCredentials;
  /** Access tokens shared with other adapters (see `GmailTokenCache`); a private one otherwise. */
  tokenCache?: GmailTokenCache | undefined;
  /** How long each call may take, answer included; 15 s by default. */
  timeoutMs?: number | undefined;
}

/**
 * Sends email through the Gmail API as the account that granted the sender's refresh token.
 *
 * - The message is composed once (`composeEmail`, Bcc header kept: Gmail takes its recipients
 *   from To, Cc and Bcc and strips Bcc itself) and sent as
 *   `POST {api_base_url}/gmail/v1/users/me/messages/send` `{ "raw": <base64url> }` with a Bearer
 *   access token. The result is Gmail's message id.
 * - Access tokens come from the token endpoint and are cached until shortly before they expire
 *   (`createAccessTokenSource`). A 401 drops the token, refreshes once and sends again; a
 *   second 401 is a permanent `unauthorized`.
 * - A revoked or expired grant (`invalid_grant`) or a missing scope is a permanent
 *   `reauthorization_required`: the dispatcher marks the sender. Other answers are classified
 *   by `tokenEndpointError` / `sendError`; 429 and 5xx are retryable with `Retry-After`.
 *
 * Each call is given `timeoutMs` (and the request's `signal`); running out is a retryable
 * `timeout`, a connection that fails a retryable `connection_failed`. `messages.send` is not
 * idempotent: a 2xx without a message id is a permanent `provider_bad_response`, and a timeout
 * after the request went out stays retryable (the `sending` window DESIGN §3 accepts; the
 * Message-ID is the same on every attempt of a delivery).
 */
export function createGmailAdapter(options: GmailAdapterOptions): ChannelAdapter<'email'> {
  const { settings } = options;
  const timeoutMs = options.timeoutMs ?? DEFAULT_GMAIL_TIMEOUT_MS;
  const tokens = createAccessTokenSource({
    settings,
    credentials: options.credentials,
    cache: options.tokenCache ?? createGmailTokenCache(),
    timeoutMs,
  });
  const base = settings.api_base_url.endsWith('/')
    ? settings.api_base_url
    : `${settings.api_base_url}/`;
  const sendUrl = new URL('gmail/v1/users/me/messages/send', base);

  async function post(
    lease: AccessLease,
    body: string,
    callerSignal: AbortSignal | undefined,
  ): Promise<{ response: ProviderResponse; text: string }> {
    const signal = callSignal(timeoutMs, callerSignal);
    let response: ProviderResponse;
    try {
      response = await callProvider(sendUrl, {
        method: 'POST',
        headers: {
          accept: 'application/json',
          authorization: `Bearer ${lease.token}`,
          'content-type': 'application/json',
        },
        body,
        signal,
      });
    } catch (error) {
      throw transportError('gmail messages.send', error, signal, timeoutMs);
    }
    try {
      return { response, text: await response.text() };
    } catch (error) {
      if (response.ok) {
        throw new PermanentDeliveryError(
          'provider_bad_response',
          `gmail messages.send answered ${response.status} but its answer was cut off; the ` +
            'message may have been sent, so it is not retried',
          { cause: error },
        );
      }
      throw transportError('gmail messages.send', error, signal, timeoutMs);
    }
  }

  async function send(request: SendRequest<'email'>): Promise<SendResult> {
    if (request.signal?.aborted === true) {
      throw new RetryableDeliveryError('timeout', 'gmail: the send was aborted before it started');
    }
    const message = parseMessage('email', request.message);
    const { raw } = await composeEmail(message, {
      bccHeader: 'keep',
      deliveryId: request.deliveryId,
    });
    const body = JSON.stringify({ raw: raw.toString('base64url') });

    let lease = await tokens.lease(request.signal);
    let answer = await post(lease, body, request.signal);
    if (answer.response.status === 401) {
      lease.invalidate();
      lease = await tokens.lease(request.signal);
      answer = await post(lease, body, request.signal);
    }
    const { response, text } = answer;
    if (response.ok) return { providerMessageId: sentMessageId(response.status, text) };
    throw sendError(response, text);
  }

  return Object.freeze({ channel: 'email', provider: 'gmail', send });
}
