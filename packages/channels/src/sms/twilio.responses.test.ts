import { describe, expect, it } from 'vitest';
import { PermanentDeliveryError, RetryableDeliveryError } from '../delivery-errors.ts';
import { createdMessageSid, sendError } from './twilio.responses.ts';

const answer = (status: number, headers: Record<string, string> = {}) => ({
  status,
  headers: new Headers(headers),
});
const twilioBody = (code: number, message: string, status = 400) =>
  JSON.stringify({
    code,
    message,
    more_info: `https://www.twilio.com/docs/errors/${code}`,
    status,
  });

describe('sendError', () => {
  it('names a redirect and where it goes, as a permanent rejected_by_provider', () => {
    const error = sendError(answer(301, { location: 'https://api.twilio.com/2010-04-01/' }), '');
    expect(error).toBeInstanceOf(PermanentDeliveryError);
    expect(error).toMatchObject({ code: 'rejected_by_provider' });
    expect(error.message).toBe(
      'twilio messages.create answered 301; a redirect to https://api.twilio.com/2010-04-01/: ' +
        "check the sender's base_url",
    );
  });

  it('a 408 is a retryable timeout', () => {
    const error = sendError(answer(408), '');
    expect(error).toBeInstanceOf(RetryableDeliveryError);
    expect(error).toMatchObject({ code: 'timeout' });
  });

  it('reads a Retry-After date against the given clock; a date already past is 0', () => {
    const now = Date.parse('2026-01-01T12:00:00Z');
    const later = sendError(
      answer(429, { 'retry-after': 'Thu, 01 Jan 2026 12:00:30 GMT' }),
      twilioBody(20429, 'Too Many Requests', 429),
      now,
    );
    expect(later).toMatchObject({ code: 'rate_limited', retryAfterMs: 30_000 });
    const past = sendError(
      answer(503, { 'retry-after': 'Thu, 01 Jan 2026 11:00:00 GMT' }),
      '',
      now,
    );
    expect(past).toMatchObject({ code: 'provider_unavailable', retryAfterMs: 0 });
    const nonsense = sendError(answer(503, { 'retry-after': 'soon' }), '', now);
    expect(nonsense).toMatchObject({ retryAfterMs: undefined });
  });

  it('does not take Retry-After for a permanent refusal', () => {
    const error = sendError(
      answer(400, { 'retry-after': '10' }),
      twilioBody(21211, "The 'To' number +1 is not a valid phone number."),
    );
    expect(error).toBeInstanceOf(PermanentDeliveryError);
    expect(error).not.toHaveProperty('retryAfterMs');
  });

  it('keeps a long or multi-line body to one clipped line', () => {
    const error = sendError(answer(400), `oops\n${'x'.repeat(1_000)}`);
    expect(error.message).not.toContain('\n');
    expect(error.message.length).toBeLessThan(400);
    expect(error.message).toMatch(/^twilio messages\.create answered 400: oops x+…$/);
  });

  it('answers a JSON body without Twilio fields with the status alone', () => {
    expect(sendError(answer(400), '{}').message).toBe('twilio messages.create answered 400');
    expect(sendError(answer(400), '').message).toBe('twilio messages.create answered 400');
  });

  it('an unknown code on a 401 is unauthorized, on a 404 rejected_by_provider', () => {
    expect(sendError(answer(401), twilioBody(20001, 'Nope', 401))).toMatchObject({
      code: 'unauthorized',
    });
    const missing = sendError(answer(404), 'Not Found');
    expect(missing).toMatchObject({ code: 'rejected_by_provider' });
    expect(missing.message).toBe(
      "twilio messages.create answered 404: Not Found; check the sender's base_url",
    );
  });
});

describe('createdMessageSid', () => {
  it("reads the sid of Twilio's Message resource", () => {
    const sid = 'SM0123456789abcdef0123456789abcdef';
    expect(createdMessageSid(201, JSON.stringify({ sid, status: 'queued' }))).toBe(sid);
  });

  it.each(['', 'not json', '{"sid": ""}', '{"sid": 42}', '[]'])(
    'refuses %j as a permanent provider_bad_response',
    (text) => {
      expect(() => createdMessageSid(201, text)).toThrow(PermanentDeliveryError);
      expect(() => createdMessageSid(201, text)).toThrow(
        'twilio messages.create answered 201 but its answer carries no message sid',
      );
    },
  );
});
