import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createTwilioServer,
  MAGIC_FROM_VALID,
  startTwilioServer,
  type TwilioFault,
  type TwilioServer,
} from '../../../../test/fakes/twilio-server.ts';
import { describeAdapterContract } from '../adapter-contract.ts';
import type { SendRequest } from '../channel-adapter.ts';
import {
  AdapterSetupError,
  PermanentDeliveryError,
  RetryableDeliveryError,
} from '../delivery-errors.ts';
import { createAdapter, PROVIDER_REGISTRY, type AdapterDeps } from '../provider-registry.ts';
import { createTwilioAdapter, type TwilioAdapterOptions } from './twilio.adapter.ts';
import type { TwilioCredentials, TwilioSettings } from './twilio.settings.ts';

const ACCOUNT_SID = 'AC0123456789abcdef0123456789abcdef';
const OTHER_ACCOUNT_SID = 'ACfedcba9876543210fedcba9876543210';
const AUTH_TOKEN = 'twilio-auth-token-s3cr3t';
const API_KEY = { sid: 'SK00112233445566778899aabbccddeeff', secret: 'api-key-secret-k3y' };
const SERVICE_SID = 'MG0123456789abcdef0123456789abcdef';
const UNKNOWN_SERVICE_SID = 'MGffffffffffffffffffffffffffffffff';

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
/** The token and key secret, and the headers carrying them: none may reach an error. */
const SECRETS = [
  AUTH_TOKEN,
  API_KEY.secret,
  basic(ACCOUNT_SID, AUTH_TOKEN).slice('Basic '.length),
  basic(API_KEY.sid, API_KEY.secret).slice('Basic '.length),
];

const serverOptions = {
  accountSid: ACCOUNT_SID,
  authToken: AUTH_TOKEN,
  apiKeys: { [API_KEY.sid]: API_KEY.secret },
  numbers: [MAGIC_FROM_VALID, '+14155550100'],
  messagingServices: [SERVICE_SID],
};

function adapterFor(
  twilio: TwilioServer,
  options: {
    settings?: Partial<TwilioSettings>;
    credentials?: TwilioCredentials;
    timeoutMs?: number;
  } = {},
) {
  const adapterOptions: TwilioAdapterOptions = {
    settings: {
      base_url: twilio.url,
      account_sid: ACCOUNT_SID,
      ...(options.settings?.messaging_service_sid === undefined ? { from: MAGIC_FROM_VALID } : {}),
      ...options.settings,
    },
    credentials: options.credentials ?? { auth_token: AUTH_TOKEN },
    timeoutMs: options.timeoutMs,
  };
  return createTwilioAdapter(adapterOptions);
}

let counter = 0;
/** A number no other test of this file sends to, and none of Twilio's magic ones. */
const newNumber = () => `+1415${String((counter += 1)).padStart(7, '0')}`;

function smsTo(to: string, text = 'Your table is ready'): SendRequest<'sms'> {
  return { message: { channel: 'sms', to, text }, attempt: 1 };
}

async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof Error) return error;
    throw new Error('rejected with a non-error', { cause: error });
  }
  throw new Error('expected the send to be rejected, but it resolved');
}

describe.each([
  ['an auth token and a From number', {}],
  [
    'an API key and a Messaging Service',
    {
      settings: { messaging_service_sid: SERVICE_SID },
      credentials: { api_key_sid: API_KEY.sid, api_key_secret: API_KEY.secret },
    },
  ],
] as const)('Twilio with %s', (_, setup) => {
  const twilio = createTwilioServer(serverOptions);
  beforeAll(() => twilio.start());
  afterAll(() => twilio.stop());

  const staged = (fault?: TwilioFault, timeoutMs?: number) => {
    const to = newNumber();
    if (fault !== undefined) twilio.inject(fault, { to });
    return Promise.resolve({
      adapter: adapterFor(twilio, { ...setup, ...(timeoutMs === undefined ? {} : { timeoutMs }) }),
      request: smsTo(to),
      recipient: to,
    });
  };

  describeAdapterContract('twilio', {
    channel: 'sms',
    success: () => staged(),
    received: (sid) => {
      const message = twilio.message(sid);
      return Promise.resolve(message === undefined ? undefined : { recipient: message.to });
    },
    permanentFailure: () => staged({ type: 'error', code: 21211 }),
    retryableFailure: () => staged({ type: 'error', code: 20503 }),
    timeout: () => staged({ type: 'delay', ms: 10_000 }, 150),
    retryAfter: async () => ({
      ...(await staged({ type: 'error', code: 20429, retryAfter: '4' })),
      retryAfterMs: 4_000,
    }),
    secrets: SECRETS,
  });
});

describe('Twilio adapter', () => {
  let twilio: TwilioServer;
  beforeAll(async () => {
    twilio = await startTwilioServer(serverOptions);
  });
  afterAll(() => twilio.stop());
  beforeEach(() => twilio.reset());

  describe('on the wire', () => {
    it('posts To, From and Body form-encoded to the account, signed with its sid and token', async () => {
      const { providerMessageId } = await adapterFor(twilio, {
        settings: { base_url: `${twilio.url}/`, from: '+14155550100' },
      }).send(smsTo('+447700900123', 'Hello'));
      const [call, ...others] = twilio.calls();
      expect(others).toEqual([]);
      expect(call).toEqual({
        method: 'POST',
        path: `/2010-04-01/Accounts/${ACCOUNT_SID}/Messages.json`,
        authorization: basic(ACCOUNT_SID, AUTH_TOKEN),
        contentType: 'application/x-www-form-urlencoded',
        form: { To: '+447700900123', From: '+14155550100', Body: 'Hello' },
        body: expect.any(String) as string,
        answer: 201,
      });
      expect([...new URLSearchParams(call!.body).keys()].sort()).toEqual(['Body', 'From', 'To']);
      expect(providerMessageId).toMatch(/^SM[0-9a-f]{32}$/);
      expect(twilio.message(providerMessageId)).toEqual({
        sid: providerMessageId,
        accountSid: ACCOUNT_SID,
        to: '+447700900123',
        from: '+14155550100',
        messagingServiceSid: null,
        body: 'Hello',
        authenticatedAs: ACCOUNT_SID,
      });
    });

    it('names the Messaging Service instead of a From number when the sender has one', async () => {
      const { providerMessageId } = await adapterFor(twilio, {
        settings: { messaging_service_sid: SERVICE_SID },
      }).send(smsTo('+447700900123', 'Hello'));
      expect(twilio.calls()[0]!.form).toEqual({
        To: '+447700900123',
        MessagingServiceSid: SERVICE_SID,
        Body: 'Hello',
      });
      expect(twilio.message(providerMessageId)).toMatchObject({
        from: null,
        messagingServiceSid: SERVICE_SID,
      });
    });

    it("signs with an API key's sid and secret, the account sid staying in the path", async () => {
      const { providerMessageId } = await adapterFor(twilio, {
        credentials: { api_key_sid: API_KEY.sid, api_key_secret: API_KEY.secret },
      }).send(smsTo(newNumber()));
      const [call] = twilio.calls();
      expect(call!.authorization).toBe(basic(API_KEY.sid, API_KEY.secret));
      expect(call!.path).toBe(`/2010-04-01/Accounts/${ACCOUNT_SID}/Messages.json`);
      expect(twilio.message(providerMessageId)!.authenticatedAs).toBe(API_KEY.sid);
    });

    it('carries any text intact: reserved characters, line breaks, emoji', async () => {
      const text = 'a+b=c & d%20?\nZoë ✓ 🎉 "quoted" #1';
      const { providerMessageId } = await adapterFor(twilio).send(smsTo(newNumber(), text));
      expect(twilio.message(providerMessageId)!.body).toBe(text);
    });

    it('refuses a malformed message, or an aborted send, before calling Twilio', async () => {
      const malformed = await rejectionOf(
        adapterFor(twilio).send({
          message: { channel: 'sms', to: '+14155550100', text: 'x'.repeat(1_601) },
          attempt: 1,
        }),
      );
      expect(malformed).toMatchObject({ name: 'PermanentDeliveryError', code: 'invalid_message' });
      const aborted = await rejectionOf(
        adapterFor(twilio).send({ ...smsTo(newNumber()), signal: AbortSignal.abort() }),
      );
      expect(aborted).toMatchObject({ name: 'RetryableDeliveryError', code: 'timeout' });
      expect(twilio.calls()).toEqual([]);
    });
  });

  describe("classifying Twilio's refusals", () => {
    it.each([
      ['+15005550001', 'invalid_recipient', 21211, "The 'To' number +15005550001 is not a valid"],
      ['+15005550002', 'invalid_recipient', 21612, 'is not currently reachable'],
      ['+15005550004', 'invalid_recipient', 21610, 'Attempt to send to unsubscribed recipient'],
      ['+15005550009', 'invalid_recipient', 21614, 'is not a valid mobile number'],
      ['+15005550003', 'rejected_by_provider', 21408, 'Permission to send an SMS'],
    ])('To %s is a permanent %s (error %i)', async (to, code, twilioCode, words) => {
      const error = await rejectionOf(adapterFor(twilio).send(smsTo(to)));
      expect(error).toBeInstanceOf(PermanentDeliveryError);
      expect(error).toMatchObject({ code });
      expect(error.message).toMatch(/^twilio messages\.create answered 400: /);
      expect(error.message).toContain(words);
      expect(error.message).toContain(`(error ${twilioCode})`);
      expect(twilio.messages()).toEqual([]);
    });

    it.each([
      ['+15005550001', 21212],
      ['+15005550007', 21606],
      ['+14155559999', 21606],
    ])('From %s is a permanent rejected_by_provider (error %i)', async (from, twilioCode) => {
      const error = await rejectionOf(
        adapterFor(twilio, { settings: { from } }).send(smsTo(newNumber())),
      );
      expect(error).toBeInstanceOf(PermanentDeliveryError);
      expect(error).toMatchObject({ code: 'rejected_by_provider' });
      expect(error.message).toContain(`(error ${twilioCode}); check the sender's from`);
    });

    it('a Messaging Service the account does not have is a permanent rejected_by_provider', async () => {
      const error = await rejectionOf(
        adapterFor(twilio, { settings: { messaging_service_sid: UNKNOWN_SERVICE_SID } }).send(
          smsTo(newNumber()),
        ),
      );
      expect(error).toMatchObject({ name: 'PermanentDeliveryError', code: 'rejected_by_provider' });
      expect(error.message).toContain('(error 21701)');
    });

    it('a From number whose queue is full (21611) is a retryable rate_limited', async () => {
      const error = await rejectionOf(
        adapterFor(twilio, { settings: { from: '+15005550008' } }).send(smsTo(newNumber())),
      );
      expect(error).toBeInstanceOf(RetryableDeliveryError);
      expect(error).toMatchObject({ code: 'rate_limited', retryAfterMs: undefined });
      expect(error.message).toBe(
        "twilio messages.create answered 400: This 'From' number has exceeded the maximum " +
          'number of queued messages (error 21611)',
      );
    });

    it('a wrong auth token is a permanent unauthorized that does not echo it', async () => {
      const error = await rejectionOf(
        adapterFor(twilio, { credentials: { auth_token: 'not-the-token' } }).send(
          smsTo(newNumber()),
        ),
      );
      expect(error).toBeInstanceOf(PermanentDeliveryError);
      expect(error).toMatchObject({ code: 'unauthorized' });
      expect(error.message).toBe('twilio messages.create answered 401: Authenticate (error 20003)');
    });

    it("another account's sid with this account's token is a permanent unauthorized", async () => {
      const error = await rejectionOf(
        adapterFor(twilio, { settings: { account_sid: OTHER_ACCOUNT_SID } }).send(
          smsTo(newNumber()),
        ),
      );
      expect(error).toMatchObject({ name: 'PermanentDeliveryError', code: 'unauthorized' });
      expect(twilio.calls()[0]!.path).toContain(OTHER_ACCOUNT_SID);
    });

    it('a base_url that is not the API root is a permanent rejected_by_provider (20404)', async () => {
      const error = await rejectionOf(
        adapterFor(twilio, { settings: { base_url: `${twilio.url}/twilio` } }).send(
          smsTo(newNumber()),
        ),
      );
      expect(error).toMatchObject({ name: 'PermanentDeliveryError', code: 'rejected_by_provider' });
      expect(error.message).toBe(
        `twilio messages.create answered 404: The requested resource /twilio/2010-04-01/Accounts/` +
          `${ACCOUNT_SID}/Messages.json was not found (error 20404); check the sender's ` +
          'account_sid and base_url',
      );
    });
  });

  describe('classifying staged failures', () => {
    async function failure(fault: TwilioFault, timeoutMs?: number) {
      const to = newNumber();
      twilio.inject(fault, { to });
      return rejectionOf(
        adapterFor(twilio, timeoutMs === undefined ? {} : { timeoutMs }).send(smsTo(to)),
      );
    }

    it.each([
      [{ code: 20003 }, 'PermanentDeliveryError', 'unauthorized'],
      [
        { code: 20005, status: 401, message: 'Account not active' },
        'PermanentDeliveryError',
        'unauthorized',
      ],
      [
        { code: 20008, status: 403, message: 'Test credentials' },
        'PermanentDeliveryError',
        'unauthorized',
      ],
      [{ code: 21211 }, 'PermanentDeliveryError', 'invalid_recipient'],
      [{ code: 21610 }, 'PermanentDeliveryError', 'invalid_recipient'],
      [{ code: 21612 }, 'PermanentDeliveryError', 'invalid_recipient'],
      [
        { code: 21635, message: "'To' number cannot be a landline" },
        'PermanentDeliveryError',
        'invalid_recipient',
      ],
      [{ code: 21408 }, 'PermanentDeliveryError', 'rejected_by_provider'],
      [
        { code: 21608, message: 'The number is unverified.' },
        'PermanentDeliveryError',
        'rejected_by_provider',
      ],
      [{ code: 21617 }, 'PermanentDeliveryError', 'invalid_message'],
      [{ code: 21999, message: 'Something new' }, 'PermanentDeliveryError', 'rejected_by_provider'],
      [{ code: 21611 }, 'RetryableDeliveryError', 'rate_limited'],
      [{ code: 20429 }, 'RetryableDeliveryError', 'rate_limited'],
      [{ code: 20500 }, 'RetryableDeliveryError', 'provider_unavailable'],
      [{ code: 20503 }, 'RetryableDeliveryError', 'provider_unavailable'],
      [{ code: 21211, status: 500 }, 'RetryableDeliveryError', 'provider_unavailable'],
    ] as const)('error %j is a %s %s', async (answer, name, code) => {
      const error = await failure({ type: 'error', ...answer });
      expect(error).toMatchObject({ name, code });
      expect(error.message).toContain(`(error ${answer.code})`);
    });

    it('a 429 is a retryable rate_limited with Retry-After in seconds or as a date', async () => {
      const seconds = await failure({ type: 'error', code: 20429, retryAfter: '12' });
      expect(seconds).toBeInstanceOf(RetryableDeliveryError);
      expect(seconds).toMatchObject({ code: 'rate_limited', retryAfterMs: 12_000 });
      expect(seconds.message).toBe(
        'twilio messages.create answered 429: Too Many Requests (error 20429)',
      );
      const at = new Date(Date.now() + 60_000).toUTCString();
      const dated = await failure({ type: 'error', code: 20429, retryAfter: at });
      const retryAfterMs = (dated as RetryableDeliveryError).retryAfterMs!;
      // An HTTP date has whole seconds, so the wait is up to a second short of 60 s.
      expect(retryAfterMs).toBeGreaterThan(50_000);
      expect(retryAfterMs).toBeLessThanOrEqual(60_000);
      const none = await failure({ type: 'error', code: 20429 });
      expect(none).toMatchObject({ code: 'rate_limited', retryAfterMs: undefined });
    });

    it('a 503 and a queue-full 21611 pass Retry-After on', async () => {
      const unavailable = await failure({ type: 'error', code: 20503, retryAfter: '5' });
      expect(unavailable).toMatchObject({ code: 'provider_unavailable', retryAfterMs: 5_000 });
      const queueFull = await failure({ type: 'error', code: 21611, retryAfter: '30' });
      expect(queueFull).toMatchObject({ code: 'rate_limited', retryAfterMs: 30_000 });
    });

    it("a proxy's HTML 502 is a retryable provider_unavailable", async () => {
      const error = await failure({ type: 'proxy', status: 502, retryAfter: '2' });
      expect(error).toBeInstanceOf(RetryableDeliveryError);
      expect(error).toMatchObject({ code: 'provider_unavailable', retryAfterMs: 2_000 });
      expect(error.message).toContain('twilio messages.create answered 502: <html>');
    });

    it("a proxy's non-JSON 403 is a permanent unauthorized", async () => {
      const error = await failure({ type: 'proxy', status: 403, text: 'Forbidden' });
      expect(error).toMatchObject({ name: 'PermanentDeliveryError', code: 'unauthorized' });
      expect(error.message).toBe('twilio messages.create answered 403: Forbidden');
    });

    it('no answer within timeoutMs is a retryable timeout', async () => {
      const error = await failure({ type: 'delay', ms: 10_000 }, 100);
      expect(error).toBeInstanceOf(RetryableDeliveryError);
      expect(error).toMatchObject({ code: 'timeout' });
      expect(error.message).toBe('twilio messages.create: no answer within 100 ms');
    });

    it("the caller's signal aborts the call with a retryable timeout", async () => {
      const to = newNumber();
      twilio.inject({ type: 'delay', ms: 10_000 }, { to });
      const controller = new AbortController();
      const sending = adapterFor(twilio).send({ ...smsTo(to), signal: controller.signal });
      setTimeout(() => controller.abort(), 50);
      const error = await rejectionOf(sending);
      expect(error).toMatchObject({ name: 'RetryableDeliveryError', code: 'timeout' });
      expect(error.message).toBe('twilio messages.create: the send was aborted');
    });

    it('a dropped connection is a retryable connection_failed', async () => {
      const error = await failure({ type: 'reset_after_send' });
      expect(error).toBeInstanceOf(RetryableDeliveryError);
      expect(error).toMatchObject({ code: 'connection_failed' });
      expect(twilio.messages()).toHaveLength(1);
    });

    it('a server that is not listening is a retryable connection_failed', async () => {
      const gone = await startTwilioServer(serverOptions);
      const adapter = adapterFor(gone);
      await gone.stop();
      const error = await rejectionOf(adapter.send(smsTo(newNumber())));
      expect(error).toBeInstanceOf(RetryableDeliveryError);
      expect(error).toMatchObject({ code: 'connection_failed' });
      expect(error.message).toContain('ECONNREFUSED');
    });

    it.each([
      ['malformed_json', 'its answer carries no message sid'],
      ['no_sid', 'its answer carries no message sid'],
    ] as const)(
      'a 201 with %s is a permanent provider_bad_response, never retried',
      async (type, why) => {
        const error = await failure({ type });
        expect(error).toBeInstanceOf(PermanentDeliveryError);
        expect(error).toMatchObject({ code: 'provider_bad_response' });
        expect(error.message).toContain(`twilio messages.create answered 201 but ${why}`);
        expect(twilio.messages()).toHaveLength(1);
      },
    );
  });
});

describe('Twilio sender settings and credentials, through the registry', () => {
  const deps: AdapterDeps = {
    sandboxOutbox: { record: () => Promise.reject(new Error('the sandbox is not used here')) },
  };
  const sender = (settings: unknown) => ({
    id: randomUUID(),
    organization_id: randomUUID(),
    channel: 'sms' as const,
    provider: 'twilio' as const,
    settings,
  });
  const valid = { account_sid: ACCOUNT_SID, from: '+14155550100' };

  function setupError(settings: unknown, credentials: unknown): AdapterSetupError {
    try {
      createAdapter(sender(settings), credentials, deps);
    } catch (error) {
      if (error instanceof AdapterSetupError) return error;
      throw error;
    }
    throw new Error('expected an AdapterSetupError');
  }

  it.each([
    ['no account_sid', { from: '+14155550100' }],
    ['an account_sid that is not AC and 32 hex digits', { ...valid, account_sid: 'AC123' }],
    ['an API key sid as account_sid', { ...valid, account_sid: API_KEY.sid }],
    ['neither from nor messaging_service_sid', { account_sid: ACCOUNT_SID }],
    ['both from and messaging_service_sid', { ...valid, messaging_service_sid: SERVICE_SID }],
    ['a from that is not E.164', { ...valid, from: '0800 123 456' }],
    [
      'a messaging_service_sid that is not MG…',
      { account_sid: ACCOUNT_SID, messaging_service_sid: 'MG1' },
    ],
    ['a base_url with user info', { ...valid, base_url: 'https://u:p@api.twilio.com' }],
    ['a base_url with a query', { ...valid, base_url: 'https://api.twilio.com/?edge=dublin' }],
    ['settings that are not an object', ACCOUNT_SID],
  ])('refuses %s as invalid_settings', (_, settings) => {
    const error = setupError(settings, { auth_token: AUTH_TOKEN });
    expect(error).toMatchObject({ code: 'invalid_settings', provider: 'twilio' });
  });

  it.each([
    ['no credentials', undefined, '(root)'],
    ['no auth token', {}, 'auth_token'],
    ['an empty auth token', { auth_token: '' }, 'auth_token'],
    ['an API key without its secret', { api_key_sid: API_KEY.sid }, 'api_key_secret'],
    ['an API key secret without its sid', { api_key_secret: API_KEY.secret }, 'api_key_sid'],
    [
      'a malformed API key sid',
      { api_key_sid: 'AK1', api_key_secret: API_KEY.secret },
      'api_key_sid',
    ],
    [
      'both an auth token and an API key',
      { auth_token: AUTH_TOKEN, api_key_sid: API_KEY.sid, api_key_secret: API_KEY.secret },
      'auth_token',
    ],
  ])('refuses %s as invalid_credentials, naming %s without its value', (_, credentials, path) => {
    const error = setupError(valid, credentials);
    expect(error).toMatchObject({ code: 'invalid_credentials', provider: 'twilio' });
    expect(error.message).toMatch(new RegExp(`at ${path.replace(/[()]/g, '\\$&')}$`));
    for (const secret of SECRETS) expect(error.message).not.toContain(secret);
  });

  it("defaults base_url to Twilio's API root", () => {
    expect(PROVIDER_REGISTRY.twilio.settings.parse(valid)).toEqual({
      base_url: 'https://api.twilio.com',
      ...valid,
    });
    const adapter = createAdapter(sender(valid), { auth_token: AUTH_TOKEN }, deps);
    expect(adapter).toMatchObject({ channel: 'sms', provider: 'twilio' });
    expect(Object.isFrozen(adapter)).toBe(true);
  });

  it('builds from stored settings and API key credentials, with the timeout of its deps', async () => {
    const twilio = await startTwilioServer(serverOptions);
    try {
      const adapter = createAdapter(
        sender({
          base_url: twilio.url,
          account_sid: ACCOUNT_SID,
          messaging_service_sid: SERVICE_SID,
        }),
        { api_key_sid: API_KEY.sid, api_key_secret: API_KEY.secret },
        { ...deps, timeoutMs: 100 },
      );
      const { providerMessageId } = await adapter.send(smsTo('+14155550123'));
      expect(twilio.message(providerMessageId)).toMatchObject({
        to: '+14155550123',
        messagingServiceSid: SERVICE_SID,
        authenticatedAs: API_KEY.sid,
      });
      twilio.inject({ type: 'delay', ms: 10_000 });
      const error = await rejectionOf(adapter.send(smsTo('+14155550123')));
      expect(error).toMatchObject({
        code: 'timeout',
        message: 'twilio messages.create: no answer within 100 ms',
      });
    } finally {
      await twilio.stop();
    }
  });
});
