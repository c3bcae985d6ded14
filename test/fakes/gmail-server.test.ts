import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startGmailServer, type GmailServer } from './gmail-server.ts';

const CLIENT = { id: 'client.apps.googleusercontent.com', secret: 'client-secret' };
const REFRESH = 'refresh-1';
let gmail: GmailServer;

beforeAll(async () => {
  gmail = await startGmailServer({ client: CLIENT, grants: { [REFRESH]: 'me@example.com' } });
});
afterAll(() => gmail.stop());
beforeEach(() => gmail.reset());

async function exchange(fields: Record<string, string>) {
  const response = await fetch(gmail.tokenUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields),
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

const grant = {
  grant_type: 'refresh_token',
  client_id: CLIENT.id,
  client_secret: CLIENT.secret,
  refresh_token: REFRESH,
};

/** What messages.send answers: a sent message, or Google's error. */
interface SendAnswer {
  id?: string;
  threadId?: string;
  labelIds?: string[];
  error?: { code: number; message: string; status: string };
}

async function send(token: string | undefined, body: unknown) {
  const response = await fetch(`${gmail.url}/gmail/v1/users/me/messages/send`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
    },
    body: JSON.stringify(body),
  });
  return {
    status: response.status,
    headers: response.headers,
    json: (await response.json()) as SendAnswer,
  };
}

const rawOf = (lines: string[]) => Buffer.from(lines.join('\r\n')).toString('base64url');
const accessToken = async () => (await exchange(grant)).json.access_token as string;

describe('fake Gmail: token endpoint', () => {
  it("issues a Bearer access token as Google's token endpoint does", async () => {
    const { status, json } = await exchange(grant);
    expect(status).toBe(200);
    expect(json).toMatchObject({ expires_in: 3599, token_type: 'Bearer' });
    expect(json.access_token).toMatch(/^ya29\./);
  });

  it.each([
    [{ ...grant, client_id: 'other' }, 401, 'invalid_client', 'The OAuth client was not found.'],
    [{ ...grant, client_secret: 'nope' }, 401, 'invalid_client', 'Unauthorized'],
    [{ ...grant, refresh_token: 'unknown' }, 400, 'invalid_grant', 'Bad Request'],
    [
      { ...grant, grant_type: 'password' },
      400,
      'unsupported_grant_type',
      'Invalid grant_type: password',
    ],
  ])('answers %j with %i %s', async (fields, status, error, description) => {
    expect(await exchange(fields)).toEqual({
      status,
      json: { error, error_description: description },
    });
  });

  it('answers invalid_grant for a revoked refresh token', async () => {
    gmail.revokeGrant(REFRESH);
    try {
      expect((await exchange(grant)).json).toEqual({
        error: 'invalid_grant',
        error_description: 'Token has been expired or revoked.',
      });
    } finally {
      gmail.grant(REFRESH, 'me@example.com');
    }
  });
});

describe('fake Gmail: messages.send', () => {
  it('refuses a missing or revoked access token with a 401 and its challenge', async () => {
    const none = await send(undefined, { raw: rawOf(['To: a@example.com', '', 'x']) });
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toContain('error="invalid_token"');
    expect(none.json.error).toMatchObject({ code: 401, status: 'UNAUTHENTICATED' });
    const token = await accessToken();
    gmail.revokeAccessTokens();
    expect((await send(token, { raw: rawOf(['To: a@example.com', '', 'x']) })).status).toBe(401);
  });

  it("answers Google's 400s for a missing raw, bad base64, no recipient or a bad To", async () => {
    const token = await accessToken();
    const message = async (body: unknown) => {
      const answer = await send(token, body);
      expect(answer.json.error).toMatchObject({ code: 400, status: 'INVALID_ARGUMENT' });
      return answer.json.error!.message;
    };
    expect(await message({})).toContain("'raw' RFC822 payload message string");
    expect(await message({ raw: 'not base64!' })).toContain('Base64 decoding failed');
    expect(await message({ raw: rawOf(['Subject: hi', '', 'x']) })).toBe(
      'Recipient address required',
    );
    expect(await message({ raw: rawOf(['To: nobody', '', 'x']) })).toBe('Invalid To header');
    expect(gmail.messages()).toEqual([]);
  });

  it('delivers to To, Cc and Bcc, keeping the message without its Bcc header', async () => {
    const token = await accessToken();
    const raw = [
      'From: me@example.com',
      'To: "Ana" <Ana@example.net>, bo@example.org',
      'Bcc: hidden@example.org,',
      ' other@example.org',
      'Cc: cy@example.net',
      'Subject: hi',
      '',
      'Body',
    ];
    const { status, json } = await send(token, { raw: rawOf(raw) });
    expect(status).toBe(200);
    expect(json).toEqual({ id: json.id, threadId: json.id, labelIds: ['SENT'] });
    const sent = gmail.message(json.id!)!;
    expect(sent.recipients).toEqual([
      'ana@example.net',
      'bo@example.org',
      'cy@example.net',
      'hidden@example.org',
      'other@example.org',
    ]);
    expect(sent.account).toBe('me@example.com');
    expect(sent.delivered.toString()).toBe(
      [
        'From: me@example.com',
        'To: "Ana" <Ana@example.net>, bo@example.org',
        'Cc: cy@example.net',
        'Subject: hi',
        '',
        'Body',
      ].join('\r\n'),
    );
  });

  it("answers a staged fault with Google's error body and Retry-After", async () => {
    const token = await accessToken();
    gmail.inject({ type: 'status', status: 429, retryAfter: '9' }, { to: 'a@example.com' });
    const limited = await send(token, { raw: rawOf(['To: a@example.com', '', 'x']) });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('9');
    expect(limited.json).toEqual({
      error: {
        code: 429,
        message: 'User-rate limit exceeded.',
        errors: [
          {
            message: 'User-rate limit exceeded.',
            domain: 'usageLimits',
            reason: 'rateLimitExceeded',
          },
        ],
        status: 'RESOURCE_EXHAUSTED',
      },
    });
    expect((await send(token, { raw: rawOf(['To: a@example.com', '', 'x']) })).status).toBe(200);
  });
});
