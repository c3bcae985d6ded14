import { randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTwilioServer, type TwilioServer } from '../../../test/fakes/twilio-server.ts';
import { startWahaServer, type WahaServer } from '../../../test/fakes/waha-server.ts';
import { PermanentDeliveryError, RetryableDeliveryError } from './delivery-errors.ts';
import { createAdapter, type AdapterDeps } from './provider-registry.ts';
import { redactError, redactText, REDACTED, secretsOf } from './redact-secrets.ts';

const deps: AdapterDeps = {
  sandboxOutbox: { record: () => Promise.resolve(randomUUID()) },
  timeoutMs: 2_000,
};

async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  const outcome: unknown = await promise.then(
    () => new Error('expected a rejection'),
    (error: unknown) => error,
  );
  if (!(outcome instanceof Error)) throw new Error('rejected with a non-error');
  return outcome;
}

describe('secret redaction', () => {
  it('collects every credential string a provider might echo, longest first', () => {
    const secrets = secretsOf({
      client_id: 'client.apps',
      nested: { refresh_token: 'a/b c"d' },
      list: ['long-enough'],
      pin: '1234',
      port: 587,
    });
    expect(secrets).toEqual(
      expect.arrayContaining([
        'client.apps',
        'a/b c"d',
        'a%2Fb%20c%22d',
        'a/b c\\"d',
        'long-enough',
      ]),
    );
    expect(secrets).not.toContain('1234');
    const lengths = secrets.map((secret) => secret.length);
    expect(lengths).toEqual([...lengths].sort((a, b) => b - a));
    expect(secretsOf(undefined)).toEqual([]);
  });

  it('replaces secrets and Authorization tokens, and nothing else', () => {
    const secrets = secretsOf({ api_key: 'key-0123456789' });
    expect(
      redactText(
        'bad key key-0123456789 (sent as key-0123456789); Authorization: Basic QUM6dG9rZW4= ' +
          'and bearer ya29.a0AfH6SM; Basic auth is required',
        secrets,
      ),
    ).toBe(
      `bad key ${REDACTED} (sent as ${REDACTED}); Authorization: Basic ${REDACTED} ` +
        `and bearer ${REDACTED}; Basic auth is required`,
    );
  });

  it('rewrites an error and its causes in place, keeping class, code, Retry-After and cause codes', () => {
    const secrets = secretsOf({ auth_token: 'token-0123456789' });
    const socket = Object.assign(new Error('socket closed after token-0123456789'), {
      code: 'ECONNRESET',
    });
    const error = new RetryableDeliveryError('rate_limited', 'slow down, token-0123456789', {
      retryAfterMs: 3_000,
      cause: socket,
    });
    redactError(error, secrets);
    expect(error).toBeInstanceOf(RetryableDeliveryError);
    expect(error).toMatchObject({ code: 'rate_limited', retryAfterMs: 3_000 });
    expect(error.message).toBe(`slow down, ${REDACTED}`);
    expect(error.stack).toContain(`slow down, ${REDACTED}`);
    expect(error.stack).not.toContain('token-0123456789');
    expect(socket.message).toBe(`socket closed after ${REDACTED}`);
    expect(socket.code).toBe('ECONNRESET');
    const aborted = new DOMException('aborted with token-0123456789', 'AbortError');
    const timeout = new RetryableDeliveryError('timeout', 'no answer', { cause: aborted });
    redactError(timeout, secrets);
    expect(aborted.message).toBe(`aborted with ${REDACTED}`);
    expect(aborted.name).toBe('AbortError');
    expect(() => redactError('not an error', secrets)).not.toThrow();
  });

  describe('in every adapter the registry builds', () => {
    const wahaKey = `waha-${randomBytes(12).toString('hex')}`;
    const accountSid = `AC${randomBytes(16).toString('hex')}`;
    const authToken = randomBytes(16).toString('hex');
    const basic = Buffer.from(`${accountSid}:${authToken}`).toString('base64');
    let waha: WahaServer;
    let twilio: TwilioServer;

    beforeAll(async () => {
      waha = await startWahaServer({ apiKey: wahaKey });
      twilio = await startTwilioServer({ accountSid, authToken });
    });
    afterAll(async () => {
      await waha.stop();
      await twilio.stop();
    });

    const wahaAdapter = () =>
      createAdapter(
        {
          id: randomUUID(),
          organization_id: randomUUID(),
          channel: 'whatsapp',
          provider: 'waha',
          settings: { base_url: waha.url, session: 'default' },
        },
        { api_key: wahaKey },
        deps,
      );
    const twilioAdapter = () =>
      createAdapter(
        {
          id: randomUUID(),
          organization_id: randomUUID(),
          channel: 'sms',
          provider: 'twilio',
          settings: { base_url: twilio.url, account_sid: accountSid, from: '+15005550006' },
        },
        { auth_token: authToken },
        deps,
      );

    it('keeps a WAHA 401 that names the api key permanent, without the key', async () => {
      const chatId = `${randomUUID()}@g.us`;
      waha.inject(
        { type: 'status', status: 401, message: `X-Api-Key ${wahaKey} is invalid` },
        { chatId },
      );
      const error = await rejectionOf(
        wahaAdapter().send({ message: { channel: 'whatsapp', chatId, text: 'hi' }, attempt: 1 }),
      );
      expect(error).toBeInstanceOf(PermanentDeliveryError);
      expect(error).toMatchObject({ code: 'unauthorized' });
      expect(error.message).toBe(`waha sendText answered 401: X-Api-Key ${REDACTED} is invalid`);
      expect(error.stack).not.toContain(wahaKey);
    });

    it('keeps a WAHA 503 retryable with its Retry-After, without the key', async () => {
      const chatId = `${randomUUID()}@g.us`;
      waha.inject(
        { type: 'status', status: 503, message: `restarting (key ${wahaKey})`, retryAfter: '7' },
        { chatId },
      );
      const error = await rejectionOf(
        wahaAdapter().send({ message: { channel: 'whatsapp', chatId, text: 'hi' }, attempt: 1 }),
      );
      expect(error).toBeInstanceOf(RetryableDeliveryError);
      expect(error).toMatchObject({ code: 'provider_unavailable', retryAfterMs: 7_000 });
      expect(error.message).not.toContain(wahaKey);
    });

    it('removes a Twilio auth token and an echoed basic auth header', async () => {
      const to = '+14155550123';
      twilio.inject(
        { type: 'error', code: 20003, status: 401, message: `token ${authToken} refused` },
        { to },
      );
      twilio.inject(
        { type: 'proxy', status: 502, text: `<p>Authorization: Basic ${basic}</p>` },
        { to },
      );
      const request = { message: { channel: 'sms' as const, to, text: 'hi' }, attempt: 1 };
      const refused = await rejectionOf(twilioAdapter().send(request));
      expect(refused).toMatchObject({ code: 'unauthorized' });
      expect(refused.message).toContain(`token ${REDACTED} refused`);
      const proxied = await rejectionOf(twilioAdapter().send(request));
      expect(proxied).toMatchObject({ code: 'provider_unavailable' });
      expect(proxied.message).toContain(`Basic ${REDACTED}`);
      for (const error of [refused, proxied]) {
        expect(`${error.message}\n${error.stack}`).not.toContain(authToken);
        expect(`${error.message}\n${error.stack}`).not.toContain(basic);
      }
    });
  });
});
