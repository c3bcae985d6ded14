import {
  parseMessage,
  type ChannelAdapter,
  type SendRequest,
  type SendResult,
} from '../channel-adapter.ts';
import { AdapterSetupError, RetryableDeliveryError } from '../delivery-errors.ts';
import { callProvider, callSignal, type ProviderResponse, transportError } from '../http-calls.ts';
import { badResponse, createdMessageSid, sendError } from './twilio.responses.ts';
import type { TwilioCredentials, TwilioSettings } from './twilio.settings.ts';

/** How long one Twilio call may take when the dispatcher does not say. */
export const DEFAULT_TWILIO_TIMEOUT_MS = 15_000;

export interface TwilioAdapterOptions {
  settings: TwilioSettings;
  /** The auth token or API key; never in an error message. */
  credentials: TwilioCredentials;
  /** How long each call may take, answer included; 15 s by default. */
  timeoutMs?: number | undefined;
}

/**
 * Sends SMS through Twilio's Programmable Messaging API, one call per message:
 * `POST {base_url}/2010-04-01/Accounts/{account_sid}/Messages.json`, form-encoded `To`, `Body`
 * and either `From` or `MessagingServiceSid` (the sender's settings hold exactly one), signed
 * with HTTP basic auth: the account sid and auth token, or the API key's sid and secret. The
 * result is the created message's sid (`SM…`). Twilio queues the message: this says it was
 * accepted, not delivered.
 *
 * Each call is given `timeoutMs` (and the request's `signal`); running out is a retryable
 * `timeout`, a connection that fails a retryable `connection_failed`. Answers are classified by
 * `sendError` (see its table). Creating a message is not idempotent: a 2xx without a sid is a
 * permanent `provider_bad_response`, and a timeout after the request went out stays retryable
 * (the `sending` window DESIGN §3 accepts).
 */
export function createTwilioAdapter(options: TwilioAdapterOptions): ChannelAdapter<'sms'> {
  const { settings, credentials } = options;
  const timeoutMs = options.timeoutMs ?? DEFAULT_TWILIO_TIMEOUT_MS;
  const base = settings.base_url.endsWith('/') ? settings.base_url : `${settings.base_url}/`;
  const url = new URL(
    `2010-04-01/Accounts/${encodeURIComponent(settings.account_sid)}/Messages.json`,
    base,
  );
  const [user, password] =
    'api_key_sid' in credentials
      ? [credentials.api_key_sid, credentials.api_key_secret]
      : [settings.account_sid, credentials.auth_token];
  const headers = {
    accept: 'application/json',
    authorization: `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`,
    'content-type': 'application/x-www-form-urlencoded',
  };
  const sender = senderField(settings);

  async function send(request: SendRequest<'sms'>): Promise<SendResult> {
    if (request.signal?.aborted === true) {
      throw new RetryableDeliveryError('timeout', 'twilio: the send was aborted before it started');
    }
    const message = parseMessage('sms', request.message);
    const body = new URLSearchParams([['To', message.to], sender, ['Body', message.text]]);

    const signal = callSignal(timeoutMs, request.signal);
    let response: ProviderResponse;
    let text: string;
    try {
      response = await callProvider(url, {
        method: 'POST',
        headers,
        body: body.toString(),
        signal,
      });
    } catch (error) {
      throw transportError('twilio messages.create', error, signal, timeoutMs);
    }
    try {
      text = await response.text();
    } catch (error) {
      if (response.ok) throw badResponse(response.status, 'its answer was cut off', error);
      throw transportError('twilio messages.create', error, signal, timeoutMs);
    }
    if (response.ok) return { providerMessageId: createdMessageSid(response.status, text) };
    throw sendError(response, text);
  }

  return Object.freeze({ channel: 'sms', provider: 'twilio', send });
}

/** The form field naming who sends; the settings schema guarantees exactly one is set. */
function senderField(settings: TwilioSettings): [string, string] {
  const { from, messaging_service_sid: service } = settings;
  if (from !== undefined && service === undefined) return ['From', from];
  if (service !== undefined && from === undefined) return ['MessagingServiceSid', service];
  throw new AdapterSetupError(
    'invalid_settings',
    'twilio',
    'twilio settings need exactly one of from and messaging_service_sid',
  );
}
