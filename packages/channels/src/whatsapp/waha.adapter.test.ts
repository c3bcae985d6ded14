import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createWahaServer,
  startWahaServer,
  type WahaEngine,
  type WahaFault,
  type WahaServer,
} from '../../../../test/fakes/waha-server.ts';
import { describeAdapterContract } from '../adapter-contract.ts';
import type { ChannelAdapter, SendRequest } from '../channel-adapter.ts';
import {
  AdapterSetupError,
  PermanentDeliveryError,
  RetryableDeliveryError,
} from '../delivery-errors.ts';
import { createAdapter, type AdapterDeps } from '../provider-registry.ts';
import { createWahaAdapter, type WahaAdapterOptions } from './waha.adapter.ts';

const API_KEY = 'waha-test-key';

function adapterFor(
  waha: WahaServer,
  options: Partial<WahaAdapterOptions> = {},
): ChannelAdapter<'whatsapp'> {
  return createWahaAdapter({
    settings: { base_url: waha.url, session: 'default' },
    apiKey: API_KEY,
    ...options,
  });
}

const newChat = () => `${randomUUID()}@g.us`;

function textTo(chatId: string, text = 'Hello'): SendRequest<'whatsapp'> {
  return { message: { channel: 'whatsapp', chatId, text }, attempt: 1 };
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

function runContract(engine: WahaEngine): void {
  describe(`WAHA ${engine}`, () => {
    const waha = createWahaServer({ apiKey: API_KEY, engine });
    beforeAll(() => waha.start());
    afterAll(() => waha.stop());

    const staged = (fault?: WahaFault, options: Partial<WahaAdapterOptions> = {}) => {
      const chatId = newChat();
      if (fault !== undefined) waha.inject(fault, { chatId });
      return Promise.resolve({ adapter: adapterFor(waha, options), request: textTo(chatId) });
    };

    describeAdapterContract(`waha (${engine})`, {
      channel: 'whatsapp',
      success: async () => {
        const scenario = await staged();
        return { ...scenario, recipient: (scenario.request.message as { chatId: string }).chatId };
      },
      received: (id) => {
        const message = waha.message(id);
        return Promise.resolve(message === undefined ? undefined : { recipient: message.chatId });
      },
      permanentFailure: () => staged({ type: 'status', status: 400, message: 'Chat not found' }),
      retryableFailure: () => staged({ type: 'status', status: 503 }),
      timeout: () => staged({ type: 'delay', ms: 10_000 }, { timeoutMs: 150 }),
      retryAfter: async () => ({
        ...(await staged({ type: 'status', status: 429, retryAfter: '3' })),
        retryAfterMs: 3_000,
      }),
      secrets: [API_KEY],
    });
  });
}

runContract('WEBJS');
runContract('NOWEB');
runContract('GOWS');

describe('WAHA adapter', () => {
  let waha: WahaServer;
  beforeAll(async () => {
    waha = await startWahaServer({
      apiKey: API_KEY,
      sessions: { default: 'WORKING', sales: 'WORKING', starting: 'STARTING' },
    });
  });
  afterAll(() => waha.stop());
  beforeEach(() => waha.reset());

  describe('on the wire', () => {
    it('sends text as one sendText with session, chatId, text and X-Api-Key', async () => {
      const adapter = createWahaAdapter({
        settings: { base_url: `${waha.url}/`, session: 'sales' },
        apiKey: API_KEY,
      });
      const { providerMessageId } = await adapter.send(textTo('1203@g.us', 'Hi there'));
      expect(waha.calls()).toEqual([
        {
          method: 'POST',
          path: '/api/sendText',
          apiKey: API_KEY,
          body: { session: 'sales', chatId: '1203@g.us', text: 'Hi there' },
          answer: 201,
        },
      ]);
      expect(providerMessageId).toBe(waha.messages()[0]!.id);
      expect(providerMessageId).toMatch(/^true_1203@g\.us_[0-9A-F]{20}$/);
    });

    it('leaves X-Api-Key out when the sender has no key', async () => {
      const open = await startWahaServer();
      try {
        await adapterFor(open, { apiKey: undefined }).send(textTo('1203@g.us'));
        expect(open.calls()[0]!.apiKey).toBeUndefined();
      } finally {
        await open.stop();
      }
    });

    it('sends three images as three sendImage calls, the caption on the first only', async () => {
      const media = [1, 2, 3].map((n) => ({
        url: `https://outbound.example/media/${n}.jpg`,
        mimetype: 'image/jpeg',
        ...(n === 2 ? {} : { filename: `${n}.jpg` }),
      }));
      const { providerMessageId } = await adapterFor(waha).send({
        message: { channel: 'whatsapp', chatId: '1203@g.us', text: 'Look', media },
        attempt: 1,
      });
      const calls = waha.calls();
      expect(calls.map((call) => call.path)).toEqual(Array(3).fill('/api/sendImage'));
      expect(calls.map((call) => call.body)).toEqual([
        { session: 'default', chatId: '1203@g.us', file: media[0], caption: 'Look' },
        { session: 'default', chatId: '1203@g.us', file: media[1] },
        { session: 'default', chatId: '1203@g.us', file: media[2] },
      ]);
      expect(calls.every((call) => call.apiKey === API_KEY)).toBe(true);
      expect(providerMessageId).toBe(waha.messages()[0]!.id);
      expect(waha.messages().map((message) => message.caption)).toEqual([
        'Look',
        undefined,
        undefined,
      ]);
    });

    it('sends media without text with no caption at all', async () => {
      const media = [{ url: 'https://outbound.example/media/1.png', mimetype: 'image/png' }];
      await adapterFor(waha).send({
        message: { channel: 'whatsapp', chatId: '1203@g.us', media },
        attempt: 1,
      });
      expect(waha.calls()[0]!.body).toEqual({
        session: 'default',
        chatId: '1203@g.us',
        file: media[0],
      });
    });

    it('refuses non-image media and malformed messages before calling WAHA', async () => {
      const media = [
        { url: 'https://outbound.example/media/1.png', mimetype: 'image/png' },
        { url: 'https://outbound.example/media/2.pdf', mimetype: 'application/pdf' },
      ];
      const mixed = await rejectionOf(
        adapterFor(waha).send({
          message: { channel: 'whatsapp', chatId: '1203@g.us', media },
          attempt: 1,
        }),
      );
      expect(mixed).toMatchObject({ name: 'PermanentDeliveryError', code: 'invalid_message' });
      const empty = await rejectionOf(
        adapterFor(waha).send({
          message: { channel: 'whatsapp', chatId: '1203@g.us' },
          attempt: 1,
        }),
      );
      expect(empty).toMatchObject({ code: 'invalid_message' });
      expect(waha.calls()).toEqual([]);
    });
  });

  describe('classifying WAHA answers', () => {
    async function failure(
      fault: WahaFault | undefined,
      options: Partial<WahaAdapterOptions> = {},
    ) {
      const chatId = newChat();
      if (fault !== undefined) waha.inject(fault, { chatId });
      return rejectionOf(adapterFor(waha, options).send(textTo(chatId)));
    }

    it('a wrong api key is a permanent unauthorized that does not echo the key', async () => {
      const error = await failure(undefined, { apiKey: 'not-the-key' });
      expect(error).toBeInstanceOf(PermanentDeliveryError);
      expect(error).toMatchObject({ code: 'unauthorized' });
      expect(error.message).toBe('waha sendText answered 401: Unauthorized');
    });

    it('an unknown session is a permanent rejected_by_provider with WAHA message', async () => {
      const adapter = createWahaAdapter({
        settings: { base_url: waha.url, session: 'ghost' },
        apiKey: API_KEY,
      });
      const error = await rejectionOf(adapter.send(textTo('1203@g.us')));
      expect(error).toBeInstanceOf(PermanentDeliveryError);
      expect(error).toMatchObject({ code: 'rejected_by_provider' });
      expect(error.message).toContain("waha sendText answered 404: We didn't find a session");
    });

    it.each([400, 422])('a %i refusal is a permanent rejected_by_provider', async (status) => {
      const error = await failure({ type: 'status', status, message: 'Chat not found' });
      expect(error).toBeInstanceOf(PermanentDeliveryError);
      expect(error).toMatchObject({ code: 'rejected_by_provider' });
      expect(error.message).toBe(`waha sendText answered ${status}: Chat not found`);
    });

    it('a session that is not WORKING yet is a retryable provider_unavailable', async () => {
      const adapter = createWahaAdapter({
        settings: { base_url: waha.url, session: 'starting' },
        apiKey: API_KEY,
      });
      const error = await rejectionOf(adapter.send(textTo('1203@g.us')));
      expect(error).toBeInstanceOf(RetryableDeliveryError);
      expect(error).toMatchObject({ code: 'provider_unavailable', retryAfterMs: undefined });
      expect(error.message).toContain('(session status STARTING)');
      const once = await failure({ type: 'session_not_ready', status: 'SCAN_QR_CODE' });
      expect(once).toMatchObject({ name: 'RetryableDeliveryError', code: 'provider_unavailable' });
    });

    it.each([500, 502, 503])('a %i is a retryable provider_unavailable', async (status) => {
      const error = await failure({ type: 'status', status, message: 'engine crashed' });
      expect(error).toBeInstanceOf(RetryableDeliveryError);
      expect(error).toMatchObject({ code: 'provider_unavailable' });
      expect(error.message).toMatch(new RegExp(`^waha sendText answered ${status}: `));
    });

    it('a 500 carries the message of WAHA exception', async () => {
      const error = await failure({
        type: 'status',
        status: 500,
        message: 'wid error: invalid wid',
      });
      expect(error.message).toBe('waha sendText answered 500: wid error: invalid wid');
    });

    it('a 429 is a retryable rate_limited with Retry-After in seconds or as a date', async () => {
      const seconds = await failure({ type: 'status', status: 429, retryAfter: '12' });
      expect(seconds).toBeInstanceOf(RetryableDeliveryError);
      expect(seconds).toMatchObject({ code: 'rate_limited', retryAfterMs: 12_000 });
      const at = new Date(Date.now() + 60_000).toUTCString();
      const dated = await failure({ type: 'status', status: 429, retryAfter: at });
      expect(dated).toMatchObject({ code: 'rate_limited' });
      const retryAfterMs = (dated as RetryableDeliveryError).retryAfterMs!;
      // An HTTP date has whole seconds, so the wait is up to a second short of 60 s.
      expect(retryAfterMs).toBeGreaterThan(50_000);
      expect(retryAfterMs).toBeLessThanOrEqual(60_000);
      const none = await failure({ type: 'status', status: 429 });
      expect(none).toMatchObject({ code: 'rate_limited', retryAfterMs: undefined });
    });

    it('a 503 with Retry-After passes it on', async () => {
      const error = await failure({ type: 'status', status: 503, retryAfter: '5' });
      expect(error).toMatchObject({ code: 'provider_unavailable', retryAfterMs: 5_000 });
    });

    it('no answer within timeoutMs is a retryable timeout', async () => {
      const error = await failure({ type: 'delay', ms: 10_000 }, { timeoutMs: 100 });
      expect(error).toBeInstanceOf(RetryableDeliveryError);
      expect(error).toMatchObject({ code: 'timeout' });
      expect(error.message).toBe('waha sendText: no answer within 100 ms');
    });

    it("the caller's signal aborts the call with a retryable timeout", async () => {
      const chatId = newChat();
      waha.inject({ type: 'delay', ms: 10_000 }, { chatId });
      const controller = new AbortController();
      const sending = adapterFor(waha).send({ ...textTo(chatId), signal: controller.signal });
      setTimeout(() => controller.abort(), 50);
      const error = await rejectionOf(sending);
      expect(error).toMatchObject({ name: 'RetryableDeliveryError', code: 'timeout' });
      expect(error.message).toBe('waha sendText: the send was aborted');
      const before = await rejectionOf(
        adapterFor(waha).send({ ...textTo(newChat()), signal: AbortSignal.abort() }),
      );
      expect(before).toMatchObject({ code: 'timeout' });
      expect(waha.calls()).toHaveLength(1);
    });

    it('a dropped connection is a retryable connection_failed', async () => {
      const error = await failure({ type: 'reset_after_send' });
      expect(error).toBeInstanceOf(RetryableDeliveryError);
      expect(error).toMatchObject({ code: 'connection_failed' });
      expect(waha.messages()).toHaveLength(1);
    });

    it('a server that is not listening is a retryable connection_failed', async () => {
      const gone = await startWahaServer();
      const adapter = adapterFor(gone);
      await gone.stop();
      const error = await rejectionOf(adapter.send(textTo('1203@g.us')));
      expect(error).toBeInstanceOf(RetryableDeliveryError);
      expect(error).toMatchObject({ code: 'connection_failed' });
      expect(error.message).toContain('ECONNREFUSED');
    });

    it.each([
      ['malformed_json', 'its answer is not JSON'],
      ['no_message_id', 'its answer carries no message id'],
    ] as const)(
      'a 2xx with %s is a permanent provider_bad_response, never retried',
      async (type, why) => {
        const error = await failure({ type });
        expect(error).toBeInstanceOf(PermanentDeliveryError);
        expect(error).toMatchObject({ code: 'provider_bad_response' });
        expect(error.message).toContain(`waha sendText answered 201 but ${why}`);
        expect(waha.messages()).toHaveLength(1);
      },
    );
  });

  describe('a send of several images that fails part way', () => {
    const media = [1, 2, 3].map((n) => ({
      url: `https://outbound.example/media/${n}.png`,
      mimetype: 'image/png',
    }));

    it('fails permanently as partially_sent, naming what was sent, and sends nothing more', async () => {
      const chatId = newChat();
      waha.inject({ type: 'status', status: 503 }, { chatId, after: 1 });
      const error = await rejectionOf(
        adapterFor(waha).send({
          message: { channel: 'whatsapp', chatId, text: 'Look', media },
          attempt: 1,
        }),
      );
      expect(error).toBeInstanceOf(PermanentDeliveryError);
      expect(error).toMatchObject({ code: 'partially_sent' });
      expect(error.cause).toBeInstanceOf(RetryableDeliveryError);
      const [sent, ...others] = waha.messages();
      expect(others).toEqual([]);
      expect(sent).toMatchObject({ caption: 'Look', file: { url: media[0]!.url } });
      expect(error.message).toBe(
        `waha: image 2 of 3 to ${chatId} failed after 1 were sent (${sent!.id}); not retried, ` +
          'since a retry would send those again: waha sendImage answered 503: Service Unavailable',
      );
      expect(waha.calls()).toHaveLength(2);
    });

    it('counts a timeout on a later image as partially_sent too', async () => {
      const chatId = newChat();
      waha.inject({ type: 'delay', ms: 10_000 }, { chatId, after: 2 });
      const error = await rejectionOf(
        adapterFor(waha, { timeoutMs: 150 }).send({
          message: { channel: 'whatsapp', chatId, media },
          attempt: 1,
        }),
      );
      expect(error).toMatchObject({ name: 'PermanentDeliveryError', code: 'partially_sent' });
      expect(error.cause).toMatchObject({ code: 'timeout' });
      expect(error.message).toContain('image 3 of 3');
      expect(waha.messages()).toHaveLength(2);
    });

    it('keeps the error of the first image as it is, since nothing was sent', async () => {
      const chatId = newChat();
      waha.inject({ type: 'status', status: 503 }, { chatId });
      const error = await rejectionOf(
        adapterFor(waha).send({ message: { channel: 'whatsapp', chatId, media }, attempt: 1 }),
      );
      expect(error).toMatchObject({ name: 'RetryableDeliveryError', code: 'provider_unavailable' });
      expect(waha.calls()).toHaveLength(1);
    });
  });
});

describe('WAHA sender settings, through the registry', () => {
  const deps: AdapterDeps = {
    sandboxOutbox: { record: () => Promise.reject(new Error('the sandbox is not used here')) },
  };
  const sender = (settings: unknown) => ({
    id: randomUUID(),
    organization_id: randomUUID(),
    channel: 'whatsapp' as const,
    provider: 'waha' as const,
    settings,
  });

  function setupError(settings: unknown, credentials: unknown = {}): AdapterSetupError {
    try {
      createAdapter(sender(settings), credentials, deps);
    } catch (error) {
      if (error instanceof AdapterSetupError) return error;
      throw error;
    }
    throw new Error('expected an AdapterSetupError');
  }

  it.each([
    ['no base_url', {}],
    ['a base_url that is not a URL', { base_url: 'waha:3000' }],
    ['an ftp base_url', { base_url: 'ftp://waha.internal' }],
    ['a base_url with user info', { base_url: 'http://user:pw@waha.internal' }],
    ['a base_url with a query', { base_url: 'http://waha.internal/?x=1' }],
    ['an empty session', { base_url: 'http://waha.internal', session: ' ' }],
    ['settings that are not an object', 'http://waha.internal'],
  ])('refuses %s as invalid_settings', (_, settings) => {
    const error = setupError(settings);
    expect(error).toMatchObject({ code: 'invalid_settings', provider: 'waha' });
  });

  it('refuses a malformed api key as invalid_credentials without showing it', () => {
    const error = setupError({ base_url: 'http://waha.internal' }, { api_key: 12345678 });
    expect(error).toMatchObject({ code: 'invalid_credentials', provider: 'waha' });
    expect(error.message).toContain('api_key');
    expect(error.message).not.toContain('12345678');
  });

  it('builds with no credentials, the default session and the timeout of its deps', async () => {
    const waha = await startWahaServer({ sessions: { default: 'WORKING' } });
    try {
      const adapter = createAdapter(sender({ base_url: waha.url }), undefined, {
        ...deps,
        timeoutMs: 100,
      });
      await adapter.send(textTo('1203@g.us'));
      expect(waha.calls()[0]).toMatchObject({
        apiKey: undefined,
        body: { session: 'default', chatId: '1203@g.us', text: 'Hello' },
      });
      waha.inject({ type: 'delay', ms: 10_000 });
      const error = await rejectionOf(adapter.send(textTo('1203@g.us')));
      expect(error).toMatchObject({
        code: 'timeout',
        message: 'waha sendText: no answer within 100 ms',
      });
    } finally {
      await waha.stop();
    }
  });
});
