import {
  parseMessage,
  type ChannelAdapter,
  type MediaItem,
  type SendRequest,
  type SendResult,
} from '../channel-adapter.ts';
import { PermanentDeliveryError, RetryableDeliveryError } from '../delivery-errors.ts';
import { callProvider, callSignal, type ProviderResponse, transportError } from '../http-calls.ts';
import { badResponse, errorForStatus, messageIdOf, type WahaEndpoint } from './waha.responses.ts';
import type { WahaSettings } from './waha.settings.ts';

/** How long one WAHA call may take when the dispatcher does not say. */
export const DEFAULT_WAHA_TIMEOUT_MS = 15_000;

export interface WahaAdapterOptions {
  settings: WahaSettings;
  /** Sent as `X-Api-Key`; left out when undefined. Never appears in an error message. */
  apiKey?: string | undefined;
  /** How long each WAHA call may take, answer included; 15 s by default. */
  timeoutMs?: number | undefined;
}

/**
 * Sends WhatsApp messages through one WAHA session (https://waha.devlike.pro).
 *
 * - Text alone is one `POST {base_url}/api/sendText` `{ session, chatId, text }`.
 * - Media is one `POST {base_url}/api/sendImage` `{ session, chatId, file, caption? }` per item, in
 *   order; the text goes as the caption of the first image only, never as a separate message.
 *   Every item must be an `image/*`; the whole message is refused before any call otherwise.
 *   The media URLs are Outbound's own (DESIGN §7), so WAHA fetching them is safe.
 * - The result is the id of the first message WAHA accepted (the one carrying the caption).
 *
 * Each call is given `timeoutMs` (and the request's `signal`); running out is a retryable `timeout`.
 * Answers are classified by `errorForStatus` (see its table); a failure to connect or a connection
 * dropped before the answer is a retryable `connection_failed`. WAHA's send endpoints are not
 * idempotent, so this adapter never turns a possible success into a retry it could avoid:
 * - a 2xx without a readable message id is a permanent `provider_bad_response`;
 * - when image k of n fails after images 1..k-1 were accepted, the send fails with a permanent
 *   `partially_sent` naming the ids already sent and keeping the original error as `cause`.
 *   Retrying would send images 1..k-1 again, and nothing records which were sent.
 * A timeout or dropped connection on the first (or only) call stays retryable even though WAHA
 * may have sent the message: that is the `sending` window DESIGN §3 accepts.
 */
export function createWahaAdapter(options: WahaAdapterOptions): ChannelAdapter<'whatsapp'> {
  const { settings, apiKey } = options;
  const timeoutMs = options.timeoutMs ?? DEFAULT_WAHA_TIMEOUT_MS;
  const base = settings.base_url.endsWith('/') ? settings.base_url : `${settings.base_url}/`;
  const headers: Record<string, string> = {
    accept: 'application/json',
    'content-type': 'application/json',
    ...(apiKey === undefined ? {} : { 'x-api-key': apiKey }),
  };

  async function call(
    endpoint: WahaEndpoint,
    body: Record<string, unknown>,
    callerSignal: AbortSignal | undefined,
  ): Promise<string> {
    const signal = callSignal(timeoutMs, callerSignal);
    let response: ProviderResponse;
    let text: string;
    try {
      response = await callProvider(new URL(`api/${endpoint}`, base), {
        method: 'POST',
        headers,
        body: JSON.stringify(body),
        signal,
      });
    } catch (error) {
      throw transportError(`waha ${endpoint}`, error, signal, timeoutMs);
    }
    try {
      text = await response.text();
    } catch (error) {
      if (response.ok)
        throw badResponse(endpoint, response.status, 'its answer was cut off', error);
      throw transportError(`waha ${endpoint}`, error, signal, timeoutMs);
    }
    if (response.ok) return messageIdOf(endpoint, response.status, text);
    throw errorForStatus(endpoint, response, text);
  }

  async function send(request: SendRequest<'whatsapp'>): Promise<SendResult> {
    if (request.signal?.aborted === true) {
      throw new RetryableDeliveryError('timeout', 'waha: the send was aborted before it started');
    }
    const message = parseMessage('whatsapp', request.message);
    const { chatId, text, media } = message;
    const session = settings.session;
    if (media.length === 0) {
      // The schema guarantees text when there is no media.
      const id = await call('sendText', { session, chatId, text }, request.signal);
      return { providerMessageId: id };
    }
    assertImages(media);
    const sent: string[] = [];
    for (const [index, item] of media.entries()) {
      const caption = index === 0 && text !== undefined ? { caption: text } : {};
      try {
        sent.push(
          await call(
            'sendImage',
            { session, chatId, file: fileOf(item), ...caption },
            request.signal,
          ),
        );
      } catch (error) {
        if (sent.length === 0) throw error;
        throw new PermanentDeliveryError(
          'partially_sent',
          `waha: image ${index + 1} of ${media.length} to ${chatId} failed after ${sent.length} ` +
            `were sent (${sent.join(', ')}); not retried, since a retry would send those again: ` +
            (error instanceof Error ? error.message : String(error)),
          { cause: error },
        );
      }
    }
    return { providerMessageId: sent[0]! };
  }

  return Object.freeze({ channel: 'whatsapp', provider: 'waha', send });
}

function fileOf(item: MediaItem): Record<string, string> {
  return {
    url: item.url,
    mimetype: item.mimetype,
    ...(item.filename === undefined ? {} : { filename: item.filename }),
  };
}

function assertImages(media: MediaItem[]): void {
  const other = media.find((item) => !item.mimetype.toLowerCase().startsWith('image/'));
  if (other !== undefined) {
    throw new PermanentDeliveryError(
      'invalid_message',
      `waha: only images can be sent, not ${other.mimetype} (${other.url})`,
    );
  }
}
