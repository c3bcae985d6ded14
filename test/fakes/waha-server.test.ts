import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createWahaServer,
  startWahaServer,
  type WahaEngine,
  type WahaServer,
} from './waha-server.ts';

const API_KEY = 'secret-key';
const GROUP = '120363025246125486@g.us';
let waha: WahaServer;

beforeAll(async () => {
  waha = await startWahaServer({
    apiKey: API_KEY,
    sessions: { default: 'WORKING', sleepy: 'SCAN_QR_CODE' },
  });
});
afterAll(() => waha.stop());
beforeEach(() => waha.reset());

async function post(
  path: string,
  body: unknown,
  headers: Record<string, string> = { 'x-api-key': API_KEY },
  server: WahaServer = waha,
) {
  const response = await fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
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

const text = (chatId = GROUP) => ({ session: 'default', chatId, text: 'Hello' });
const image = (caption?: string) => ({
  session: 'default',
  chatId: GROUP,
  file: { url: 'https://outbound.example/m/1.png', mimetype: 'image/png', filename: '1.png' },
  ...(caption === undefined ? {} : { caption }),
});

describe('fake WAHA server: what it accepts', () => {
  it('sends a text and answers 201 with a WEBJS message, recording call and message', async () => {
    const answer = await post('/api/sendText', text());
    expect(answer.status).toBe(201);
    const body = answer.json as { id: { _serialized: string; id: string; remote: string } };
    expect(body).toMatchObject({ fromMe: true, to: GROUP, body: 'Hello', type: 'chat' });
    expect(body.id._serialized).toBe(`true_${GROUP}_${body.id.id}`);
    expect(waha.message(body.id._serialized)).toEqual({
      id: body.id._serialized,
      shortId: body.id.id,
      endpoint: 'sendText',
      session: 'default',
      chatId: GROUP,
      text: 'Hello',
    });
    expect(waha.calls()).toEqual([
      { method: 'POST', path: '/api/sendText', apiKey: API_KEY, body: text(), answer: 201 },
    ]);
  });

  it('sends an image with its file and caption', async () => {
    const answer = await post('/api/sendImage', image('Look'));
    expect(answer.status).toBe(201);
    const [sent] = waha.messages();
    expect(sent).toMatchObject({
      endpoint: 'sendImage',
      caption: 'Look',
      file: { url: 'https://outbound.example/m/1.png', mimetype: 'image/png', filename: '1.png' },
    });
    expect(answer.json).toMatchObject({ hasMedia: true, type: 'image' });
  });

  it.each<[WahaEngine, (body: unknown) => string]>([
    ['WEBJS', (body) => (body as { id: { _serialized: string } }).id._serialized],
    ['NOWEB', (body) => (body as { key: { id: string } }).key.id],
    ['GOWS', (body) => (body as { id: string }).id],
  ])('answers in the %s engine shape', async (engine, idOf) => {
    const server = await startWahaServer({ engine });
    try {
      const answer = await post('/api/sendText', text(), {}, server);
      expect(answer.status).toBe(201);
      const id = idOf(answer.json);
      expect(id).toMatch(/^(true_120363025246125486@g\.us_)?[0-9A-F]{20}$/);
      expect(server.message(id)?.chatId).toBe(GROUP);
    } finally {
      await server.stop();
    }
  });
});

describe('fake WAHA server: what it refuses, as WAHA does', () => {
  it('answers 401 without the right X-Api-Key, and sends nothing', async () => {
    for (const headers of [{}, { 'x-api-key': 'wrong' }] as Record<string, string>[]) {
      const answer = await post('/api/sendText', text(), headers);
      expect(answer.status).toBe(401);
      expect(answer.json).toEqual({ message: 'Unauthorized', statusCode: 401 });
    }
    expect(waha.messages()).toEqual([]);
    expect(waha.calls().map((call) => [call.apiKey, call.answer])).toEqual([
      [undefined, 401],
      ['wrong', 401],
    ]);
  });

  it('answers 404 for an unknown route and an unknown session', async () => {
    const route = await post('/api/sendSticker', text());
    expect(route).toMatchObject({
      status: 404,
      json: { statusCode: 404, message: 'Cannot POST /api/sendSticker', error: 'Not Found' },
    });
    const session = await post('/api/sendText', { ...text(), session: 'nope' });
    expect(session.status).toBe(404);
    expect(session.json).toMatchObject({ statusCode: 404, error: 'Not Found' });
    expect((session.json as { message: string }).message).toContain(
      "We didn't find a session with name 'nope'",
    );
  });

  it('answers 400 with class-validator messages for missing fields and bad JSON', async () => {
    const fields = await post('/api/sendText', { session: 'default', chatId: GROUP });
    expect(fields).toMatchObject({
      status: 400,
      json: { statusCode: 400, message: ['text must be a string'], error: 'Bad Request' },
    });
    const file = await post('/api/sendImage', { session: 'default', chatId: GROUP, file: {} });
    expect((file.json as { message: string[] }).message).toEqual([
      'file.url or file.data must be a string',
      'file.mimetype must be a string',
    ]);
    const json = await post('/api/sendText', '{"session": ');
    expect(json.status).toBe(400);
    expect(waha.messages()).toEqual([]);
  });

  it('answers 422 with the session status when the session is not WORKING', async () => {
    const answer = await post('/api/sendText', { ...text(), session: 'sleepy' });
    expect(answer).toMatchObject({
      status: 422,
      json: { session: 'sleepy', status: 'SCAN_QR_CODE', expected: ['WORKING'] },
    });
    expect((answer.json as { error: string }).error).toMatch(/^Session status is not as expected/);
    waha.setSession('sleepy', 'WORKING');
    expect((await post('/api/sendText', { ...text(), session: 'sleepy' })).status).toBe(201);
    waha.setSession('sleepy', 'SCAN_QR_CODE');
  });
});

describe('fake WAHA server: staged faults', () => {
  it('answers a status fault the given number of times, for the matching chat only', async () => {
    waha.inject({ type: 'status', status: 503, retryAfter: '7' }, { chatId: 'a@g.us', times: 2 });
    const first = await post('/api/sendText', text('a@g.us'));
    expect(first.status).toBe(503);
    expect(first.headers.get('retry-after')).toBe('7');
    expect(first.json).toEqual({
      statusCode: 503,
      message: 'Service Unavailable',
      error: 'Service Unavailable',
    });
    expect((await post('/api/sendText', text('b@g.us'))).status).toBe(201);
    expect((await post('/api/sendText', text('a@g.us'))).status).toBe(503);
    expect((await post('/api/sendText', text('a@g.us'))).status).toBe(201);
    expect(waha.messages().map((message) => message.chatId)).toEqual(['b@g.us', 'a@g.us']);
  });

  it('lets `after` matching requests through before a fault applies', async () => {
    waha.inject({ type: 'status', status: 500 }, { endpoint: 'sendImage', after: 1 });
    expect((await post('/api/sendImage', image())).status).toBe(201);
    expect((await post('/api/sendText', text())).status).toBe(201);
    expect((await post('/api/sendImage', image())).status).toBe(500);
    expect((await post('/api/sendImage', image())).status).toBe(201);
  });

  it('answers 500 in the shape of WAHA exception filter, and 422 with a message', async () => {
    waha.inject({ type: 'status', status: 500, message: 'wid error: invalid wid' });
    waha.inject(
      { type: 'status', status: 422, message: 'Chat not found' },
      { endpoint: 'sendImage' },
    );
    const crash = await post('/api/sendText', text());
    expect(crash).toMatchObject({
      status: 500,
      json: { statusCode: 500, exception: { message: 'wid error: invalid wid' } },
    });
    const refused = await post('/api/sendImage', image());
    expect(refused).toMatchObject({
      status: 422,
      json: { statusCode: 422, message: 'Chat not found', error: 'Unprocessable Entity' },
    });
    expect(waha.messages()).toEqual([]);
  });

  it('applies faults to a session, and a session_not_ready fault once', async () => {
    waha.inject({ type: 'session_not_ready', status: 'STARTING' }, { session: 'default' });
    const answer = await post('/api/sendText', text());
    expect(answer).toMatchObject({ status: 422, json: { status: 'STARTING' } });
    expect((await post('/api/sendText', text())).status).toBe(201);
  });

  it('sends, then drops the connection without answering', async () => {
    waha.inject({ type: 'reset_after_send' });
    await expect(post('/api/sendText', text())).rejects.toThrow(TypeError);
    expect(waha.messages()).toHaveLength(1);
    expect(waha.calls()[0]!.answer).toBe('reset');
  });

  it('sends, then answers 201 with malformed JSON or without an id', async () => {
    waha.inject({ type: 'malformed_json' });
    waha.inject({ type: 'no_message_id' });
    const malformed = await post('/api/sendText', text());
    expect(malformed.status).toBe(201);
    expect(malformed.json).toBeUndefined();
    const empty = await post('/api/sendText', text());
    expect(empty).toMatchObject({ status: 201, json: {} });
    expect(waha.messages()).toHaveLength(2);
  });

  it('holds a delayed request until its delay is over, then sends', async () => {
    waha.inject({ type: 'delay', ms: 5_000 });
    const aborted = fetch(`${waha.url}/api/sendText`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': API_KEY },
      body: JSON.stringify(text()),
      signal: AbortSignal.timeout(100),
    });
    await expect(aborted).rejects.toThrow(/aborted|timeout/i);
    expect(waha.calls()[0]!.answer).toBe('pending');
    expect(waha.messages()).toEqual([]);

    waha.inject({ type: 'delay', ms: 50 });
    expect((await post('/api/sendText', text())).status).toBe(201);
    expect(waha.messages()).toHaveLength(1);
  });

  it('has no url before start or after stop', async () => {
    const server = createWahaServer();
    expect(() => server.url).toThrow(/not started/);
    await server.start();
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    await server.stop();
    expect(() => server.url).toThrow(/not started/);
  });
});
