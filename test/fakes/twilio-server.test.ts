import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createTwilioServer,
  MAGIC_FROM_ERRORS,
  MAGIC_TO_ERRORS,
  startTwilioServer,
  type TwilioServer,
} from './twilio-server.ts';

const ACCOUNT = 'AC0123456789abcdef0123456789abcdef';
const TOKEN = 'token-1';
const KEY = { sid: 'SK0123456789abcdef0123456789abcdef', secret: 'key-secret' };
const SERVICE = 'MG0123456789abcdef0123456789abcdef';
const FROM = '+15005550006';
const MESSAGES = `/2010-04-01/Accounts/${ACCOUNT}/Messages.json`;

let twilio: TwilioServer;
beforeAll(async () => {
  twilio = await startTwilioServer({
    accountSid: ACCOUNT,
    authToken: TOKEN,
    apiKeys: { [KEY.sid]: KEY.secret },
    messagingServices: [SERVICE],
  });
});
afterAll(() => twilio.stop());
beforeEach(() => twilio.reset());

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

async function post(
  fields: Record<string, string> | string,
  options: { path?: string; authorization?: string | null; contentType?: string } = {},
) {
  const authorization =
    options.authorization === undefined ? basic(ACCOUNT, TOKEN) : options.authorization;
  const response = await fetch(`${twilio.url}${options.path ?? MESSAGES}`, {
    method: 'POST',
    headers: {
      'content-type': options.contentType ?? 'application/x-www-form-urlencoded',
      ...(authorization === null ? {} : { authorization }),
    },
    body: typeof fields === 'string' ? fields : new URLSearchParams(fields).toString(),
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

const sms = (to = '+14155550100', extra: Record<string, string> = {}) => ({
  To: to,
  From: FROM,
  Body: 'Hello',
  ...extra,
});

describe('fake Twilio server: what it accepts', () => {
  it("queues a message and answers 201 with Twilio's Message resource", async () => {
    const answer = await post(sms());
    expect(answer.status).toBe(201);
    const body = answer.json as Record<string, unknown>;
    expect(body).toMatchObject({
      account_sid: ACCOUNT,
      api_version: '2010-04-01',
      to: '+14155550100',
      from: FROM,
      body: 'Hello',
      status: 'queued',
      direction: 'outbound-api',
      messaging_service_sid: null,
      num_segments: '1',
      error_code: null,
    });
    expect(body.sid).toMatch(/^SM[0-9a-f]{32}$/);
    expect(body.uri).toBe(`/2010-04-01/Accounts/${ACCOUNT}/Messages/${String(body.sid)}.json`);
    expect(body.date_created).toMatch(/^\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} \+0000$/);
    expect(twilio.message(body.sid as string)).toEqual({
      sid: body.sid,
      accountSid: ACCOUNT,
      to: '+14155550100',
      from: FROM,
      messagingServiceSid: null,
      body: 'Hello',
      authenticatedAs: ACCOUNT,
    });
    expect(twilio.calls()).toEqual([
      {
        method: 'POST',
        path: MESSAGES,
        authorization: basic(ACCOUNT, TOKEN),
        contentType: 'application/x-www-form-urlencoded',
        form: sms(),
        body: new URLSearchParams(sms()).toString(),
        answer: 201,
      },
    ]);
  });

  it('takes a Messaging Service instead of From, and answers status accepted', async () => {
    const answer = await post({ To: '+14155550100', MessagingServiceSid: SERVICE, Body: 'Hi' });
    expect(answer.status).toBe(201);
    expect(answer.json).toMatchObject({
      from: null,
      messaging_service_sid: SERVICE,
      status: 'accepted',
    });
  });

  it('takes an API key of the account, and records who signed', async () => {
    const answer = await post(sms(), { authorization: basic(KEY.sid, KEY.secret) });
    expect(answer.status).toBe(201);
    expect(twilio.messages()[0]!.authenticatedAs).toBe(KEY.sid);
  });

  it('counts segments as Twilio roughly does', async () => {
    const long = await post(sms(undefined, { Body: 'x'.repeat(161) }));
    expect(long.json).toMatchObject({ num_segments: '2' });
    const unicode = await post(sms(undefined, { Body: 'é'.repeat(71) }));
    expect(unicode.json).toMatchObject({ num_segments: '2' });
  });
});

describe('fake Twilio server: what it refuses, as Twilio does', () => {
  it('answers 401 (20003) to missing, wrong, or other-account credentials, and sends nothing', async () => {
    const other = '/2010-04-01/Accounts/ACffffffffffffffffffffffffffffffff/Messages.json';
    const answers = [
      await post(sms(), { authorization: null }),
      await post(sms(), { authorization: basic(ACCOUNT, 'wrong') }),
      await post(sms(), { authorization: basic(KEY.sid, TOKEN) }),
      await post(sms(), { authorization: 'Bearer token-1' }),
      await post(sms(), { path: other }),
    ];
    for (const answer of answers) {
      expect(answer.status).toBe(401);
      expect(answer.headers.get('www-authenticate')).toBe('Basic realm="Twilio API"');
      expect(answer.json).toEqual({
        code: 20003,
        message: 'Authenticate',
        more_info: 'https://www.twilio.com/docs/errors/20003',
        status: 401,
      });
    }
    expect(twilio.messages()).toEqual([]);
  });

  it('answers 404 (20404) to a path it does not serve', async () => {
    const answer = await post(sms(), { path: `/2010-04-01/Accounts/${ACCOUNT}/Calls.json` });
    expect(answer).toMatchObject({
      status: 404,
      json: {
        code: 20404,
        message: `The requested resource /2010-04-01/Accounts/${ACCOUNT}/Calls.json was not found`,
        status: 404,
      },
    });
  });

  it.each([
    ['no To', { From: FROM, Body: 'x' }, 21604],
    ['neither From nor MessagingServiceSid', { To: '+14155550100', Body: 'x' }, 21603],
    ['no Body', { To: '+14155550100', From: FROM }, 21602],
    ['a Body over 1600 characters', sms(undefined, { Body: 'x'.repeat(1_601) }), 21617],
    ['a To that is not a number', sms('hello'), 21211],
    ['a From that is not a number', sms(undefined, { From: 'Acme Ltd!' }), 21212],
    ['a From the account does not own', sms(undefined, { From: '+14155559999' }), 21606],
    [
      'a malformed MessagingServiceSid',
      { To: '+14155550100', MessagingServiceSid: 'MG1', Body: 'x' },
      21705,
    ],
    [
      'an unknown MessagingServiceSid',
      { To: '+14155550100', MessagingServiceSid: `MG${'f'.repeat(32)}`, Body: 'x' },
      21701,
    ],
  ])('answers 400 to %s (%i)', async (_, fields, code) => {
    const answer = await post(fields);
    expect(answer.status).toBe(400);
    expect(answer.json).toMatchObject({
      code,
      status: 400,
      more_info: `https://www.twilio.com/docs/errors/${code}`,
    });
    expect(twilio.messages()).toEqual([]);
  });

  it('reads a body that is not form-encoded as no fields, as Twilio does', async () => {
    const answer = await post(JSON.stringify(sms()), { contentType: 'application/json' });
    expect(answer).toMatchObject({ status: 400, json: { code: 21604 } });
    expect(twilio.calls()[0]!.form).toEqual({});
  });

  it("answers the magic numbers of Twilio's test credentials with their errors", async () => {
    for (const [to, code] of Object.entries(MAGIC_TO_ERRORS)) {
      expect((await post(sms(to))).json).toMatchObject({ code });
    }
    for (const [from, code] of Object.entries(MAGIC_FROM_ERRORS)) {
      expect((await post(sms(undefined, { From: from }))).json).toMatchObject({ code });
    }
    const invalid = await post(sms('+15005550001'));
    expect((invalid.json as { message: string }).message).toBe(
      "The 'To' number +15005550001 is not a valid phone number.",
    );
    expect(twilio.messages()).toEqual([]);
  });
});

describe('fake Twilio server: staged faults', () => {
  it('answers an error fault the given number of times, for the matching To only', async () => {
    twilio.inject(
      { type: 'error', code: 20429, retryAfter: '7' },
      { to: '+14155550001', times: 2 },
    );
    const first = await post(sms('+14155550001'));
    expect(first.status).toBe(429);
    expect(first.headers.get('retry-after')).toBe('7');
    expect(first.json).toEqual({
      code: 20429,
      message: 'Too Many Requests',
      more_info: 'https://www.twilio.com/docs/errors/20429',
      status: 429,
    });
    expect((await post(sms('+14155550002'))).status).toBe(201);
    expect((await post(sms('+14155550001'))).status).toBe(429);
    expect((await post(sms('+14155550001'))).status).toBe(201);
    expect(twilio.messages().map((message) => message.to)).toEqual([
      '+14155550002',
      '+14155550001',
    ]);
  });

  it('lets `after` matching requests through, and takes a status and words of its own', async () => {
    twilio.inject(
      { type: 'error', code: 20005, status: 401, message: 'Account not active' },
      { after: 1 },
    );
    expect((await post(sms())).status).toBe(201);
    const refused = await post(sms());
    expect(refused).toMatchObject({
      status: 401,
      json: { code: 20005, message: 'Account not active', status: 401 },
    });
    expect((await post(sms())).status).toBe(201);
  });

  it("answers a proxy fault with an HTML page, not Twilio's JSON", async () => {
    twilio.inject({ type: 'proxy', status: 502 });
    const answer = await post(sms());
    expect(answer.status).toBe(502);
    expect(answer.headers.get('content-type')).toBe('text/html');
    expect(answer.text).toContain('502 Bad Gateway');
    expect(answer.json).toBeUndefined();
    expect(twilio.messages()).toEqual([]);
  });

  it('sends, then drops the connection without answering', async () => {
    twilio.inject({ type: 'reset_after_send' });
    await expect(post(sms())).rejects.toThrow(TypeError);
    expect(twilio.messages()).toHaveLength(1);
    expect(twilio.calls()[0]!.answer).toBe('reset');
  });

  it('sends, then answers 201 with malformed JSON or without a sid', async () => {
    twilio.inject({ type: 'malformed_json' });
    twilio.inject({ type: 'no_sid' });
    const malformed = await post(sms());
    expect(malformed.status).toBe(201);
    expect(malformed.json).toBeUndefined();
    expect(await post(sms())).toMatchObject({ status: 201, json: {} });
    expect(twilio.messages()).toHaveLength(2);
  });

  it('holds a delayed request until its delay is over, then sends', async () => {
    twilio.inject({ type: 'delay', ms: 5_000 });
    const aborted = fetch(`${twilio.url}${MESSAGES}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: basic(ACCOUNT, TOKEN),
      },
      body: new URLSearchParams(sms()).toString(),
      signal: AbortSignal.timeout(100),
    });
    await expect(aborted).rejects.toThrow(/aborted|timeout/i);
    expect(twilio.calls()[0]!.answer).toBe('pending');
    expect(twilio.messages()).toEqual([]);

    twilio.inject({ type: 'delay', ms: 50 });
    expect((await post(sms())).status).toBe(201);
    expect(twilio.messages()).toHaveLength(1);
  });

  it('has no url before start or after stop', async () => {
    const server = createTwilioServer({ accountSid: ACCOUNT, authToken: TOKEN });
    expect(() => server.url).toThrow(/not started/);
    await server.start();
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    await server.stop();
    expect(() => server.url).toThrow(/not started/);
  });
});
