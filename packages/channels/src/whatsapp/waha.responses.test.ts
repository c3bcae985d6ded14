import { describe, expect, it } from 'vitest';
import { PermanentDeliveryError, RetryableDeliveryError } from '../delivery-errors.ts';
import { parseRetryAfter } from '../http-calls.ts';
import { errorForStatus, messageIdOf } from './waha.responses.ts';

const NOW = Date.parse('2025-06-01T12:00:00Z');

function answer(status: number, body: unknown = '', headers: Record<string, string> = {}) {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return errorForStatus('sendText', { status, headers: new Headers(headers) }, text, NOW);
}

describe('parseRetryAfter', () => {
  it.each([
    ['0', 0],
    ['120', 120_000],
    [' 7 ', 7_000],
    ['Sun, 01 Jun 2025 12:00:30 GMT', 30_000],
    ['Sun, 01 Jun 2025 11:00:00 GMT', 0],
  ])('reads %j as %i ms', (value, ms) => {
    expect(parseRetryAfter(value, NOW)).toBe(ms);
  });

  it.each([null, '', '-5', '1.5', 'soon'])('ignores %j', (value) => {
    expect(parseRetryAfter(value, NOW)).toBeUndefined();
  });
});

describe('errorForStatus', () => {
  it('a 403 is a permanent unauthorized', () => {
    const error = answer(403, {
      statusCode: 403,
      message: 'Forbidden resource',
      error: 'Forbidden',
    });
    expect(error).toBeInstanceOf(PermanentDeliveryError);
    expect(error).toMatchObject({
      code: 'unauthorized',
      message: 'waha sendText answered 403: Forbidden resource',
    });
  });

  it('a redirect is a permanent rejected_by_provider pointing at base_url', () => {
    const error = answer(301, '', { location: 'https://elsewhere.example/api/sendText' });
    expect(error).toBeInstanceOf(PermanentDeliveryError);
    expect(error.message).toBe(
      'waha sendText answered 301 (a redirect to https://elsewhere.example/api/sendText: ' +
        "check the sender's base_url)",
    );
  });

  it('a 408 is a retryable timeout', () => {
    expect(answer(408)).toMatchObject({ name: 'RetryableDeliveryError', code: 'timeout' });
  });

  it('joins the validation messages of a 400', () => {
    const error = answer(400, {
      statusCode: 400,
      message: ['chatId must be a string', 'text must be a string'],
      error: 'Bad Request',
    });
    expect(error).toMatchObject({ code: 'rejected_by_provider' });
    expect(error.message).toBe(
      'waha sendText answered 400: chatId must be a string; text must be a string',
    );
  });

  it('a 422 that is not about the session is permanent', () => {
    const error = answer(422, { statusCode: 422, message: 'Invalid file', error: 'Unprocessable' });
    expect(error).toBeInstanceOf(PermanentDeliveryError);
  });

  it('quotes a body that is not JSON, on one line and clipped', () => {
    const error = answer(502, `<html>\n  <body>Bad gateway ${'x'.repeat(400)}</body>\n</html>`);
    expect(error).toBeInstanceOf(RetryableDeliveryError);
    expect(error.message).toMatch(/^waha sendText answered 502: <html> <body>Bad gateway x+…$/);
    expect(error.message.length).toBeLessThan(360);
  });
});

describe('messageIdOf', () => {
  it.each([
    ['WAMessage / GOWS', { id: 'true_1@g.us_ABC' }, 'true_1@g.us_ABC'],
    ['WEBJS', { id: { id: 'ABC', _serialized: 'true_1@g.us_ABC' } }, 'true_1@g.us_ABC'],
    ['NOWEB', { key: { remoteJid: '1@g.us', fromMe: true, id: 'ABC' } }, 'ABC'],
  ])('reads the id of a %s answer', (_, body, id) => {
    expect(messageIdOf('sendText', 201, JSON.stringify(body))).toBe(id);
  });

  it.each(['', 'null', '[]', '{"id": ""}', '{"id": {"id": "ABC"}}', '{"key": {}}', '{"id": 5}'])(
    'refuses %j as a permanent provider_bad_response',
    (text) => {
      expect(() => messageIdOf('sendImage', 200, text)).toThrow(
        expect.objectContaining({ name: 'PermanentDeliveryError', code: 'provider_bad_response' }),
      );
    },
  );
});
