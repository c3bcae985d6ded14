import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startGmailServer, type GmailServer } from '../../../../test/fakes/gmail-server.ts';
import type { SendRequest } from '../channel-adapter.ts';
import { PermanentDeliveryError, RetryableDeliveryError } from '../delivery-errors.ts';
import { createGmailAdapter, type GmailAdapterOptions } from './gmail.adapter.ts';
import {
  createAccessTokenSource,
  createGmailTokenCache,
  TOKEN_REFRESH_MARGIN_MS,
  type AccessTokenSource,
} from './gmail-oauth.ts';

const CLIENT = { id: 'oauth-test.apps.googleusercontent.com', secret: 'oauth-test-secret' };
const REFRESH_TOKEN = 'oauth-test-refresh';
const ACCOUNT = 'me@example.com';
const SECRETS = [CLIENT.secret, REFRESH_TOKEN];

const newRecipient = () => `${randomUUID()}@example.net`;

function emailTo(to: string): SendRequest<'email'> {
  return {
    message: { channel: 'email', from: { address: ACCOUNT }, to: [to], subject: 'Hi', text: 'Hi' },
    attempt: 1,
  };
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

describe('Gmail access token source', () => {
  let gmail: GmailServer;
  beforeAll(async () => {
    gmail = await startGmailServer({
      client: CLIENT,
      grants: { [REFRESH_TOKEN]: ACCOUNT },
    });
  });
  afterAll(() => gmail.stop());
  beforeEach(() => {
    gmail.reset();
    gmail.grant(REFRESH_TOKEN, ACCOUNT);
  });

  const tokenCalls = () => gmail.calls().filter((call) => call.endpoint === 'token');

  function source(now?: () => number): AccessTokenSource {
    return createAccessTokenSource({
      settings: { token_url: gmail.tokenUrl, api_base_url: gmail.url },
      credentials: {
        client_id: CLIENT.id,
        client_secret: CLIENT.secret,
        refresh_token: REFRESH_TOKEN,
      },
      cache: createGmailTokenCache(),
      timeoutMs: 5_000,
      ...(now === undefined ? {} : { now }),
    });
  }

  it('a caller that gives up stops waiting on a shared refresh, which goes on for the others', async () => {
    gmail.inject({ type: 'token_delay', ms: 200 });
    const tokens = source();
    const controller = new AbortController();
    const patient = tokens.lease(undefined);
    const impatient = tokens.lease(controller.signal);
    controller.abort();
    await expect(impatient).rejects.toMatchObject({
      name: 'RetryableDeliveryError',
      code: 'timeout',
      message: 'gmail token endpoint: the send was aborted while waiting for an access token',
    });
    const { token } = await patient;
    expect(token).toMatch(/^ya29\./);
    expect((await tokens.lease(undefined)).token).toBe(token);
    expect(tokenCalls()).toHaveLength(1);
  });

  it('keeps a token until the refresh margin before its expiry, by the clock it is given', async () => {
    let now = 1_000_000;
    const tokens = source(() => now);
    const first = await tokens.lease(undefined);
    // Google's tokens live 3599 s: one second before the margin the token is still good.
    now += 3_599_000 - TOKEN_REFRESH_MARGIN_MS - 1_000;
    expect((await tokens.lease(undefined)).token).toBe(first.token);
    now += 1_000;
    expect((await tokens.lease(undefined)).token).not.toBe(first.token);
    expect(tokenCalls()).toHaveLength(2);
  });

  it('invalidate drops only the token it was leased with', async () => {
    const tokens = source();
    const stale = await tokens.lease(undefined);
    stale.invalidate();
    const fresh = await tokens.lease(undefined);
    expect(fresh.token).not.toBe(stale.token);
    stale.invalidate();
    expect((await tokens.lease(undefined)).token).toBe(fresh.token);
    expect(tokenCalls()).toHaveLength(2);
  });
});

describe('Gmail adapter', () => {
  let gmail: GmailServer;
  beforeAll(async () => {
    gmail = await startGmailServer({ client: CLIENT, grants: { [REFRESH_TOKEN]: ACCOUNT } });
  });
  afterAll(() => gmail.stop());
  beforeEach(() => {
    gmail.reset();
    gmail.grant(REFRESH_TOKEN, ACCOUNT);
  });
  const callsTo = (endpoint: 'token' | 'send') =>
    gmail.calls().filter((call) => call.endpoint === endpoint);

  function adapterFor(server: GmailServer, options: Partial<GmailAdapterOptions> = {}) {
    return createGmailAdapter({
      settings: { token_url: server.tokenUrl, api_base_url: server.url },
      credentials: {
        client_id: CLIENT.id,
        client_secret: CLIENT.secret,
        refresh_token: REFRESH_TOKEN,
      },
      ...options,
    });
  }

  describe('access tokens', () => {
    it('refreshes once and reuses the token until shortly before it expires', async () => {
      const adapter = adapterFor(gmail);
      await adapter.send(emailTo(newRecipient()));
      await adapter.send(emailTo(newRecipient()));
      expect(callsTo('token')).toHaveLength(1);
      expect(new Set(callsTo('send').map((call) => call.authorization)).size).toBe(1);
    });

    it('refreshes again when the cached token is within the refresh margin', async () => {
      const shortLived = await startGmailServer({
        client: CLIENT,
        grants: { [REFRESH_TOKEN]: ACCOUNT },
        tokenLifetimeSeconds: 30,
      });
      try {
        const adapter = adapterFor(shortLived);
        await adapter.send(emailTo(newRecipient()));
        await adapter.send(emailTo(newRecipient()));
        expect(shortLived.calls().filter((call) => call.endpoint === 'token')).toHaveLength(2);
      } finally {
        await shortLived.stop();
      }
    });

    it('shares one refresh between concurrent sends, and a cache between adapters', async () => {
      const tokenCache = createGmailTokenCache();
      const adapter = adapterFor(gmail, { tokenCache });
      await Promise.all([1, 2, 3].map(() => adapter.send(emailTo(newRecipient()))));
      await adapterFor(gmail, { tokenCache }).send(emailTo(newRecipient()));
      expect(callsTo('token')).toHaveLength(1);
      await adapterFor(gmail).send(emailTo(newRecipient()));
      expect(callsTo('token')).toHaveLength(2);
    });

    it('on a 401, refreshes once and sends again', async () => {
      const adapter = adapterFor(gmail);
      await adapter.send(emailTo(newRecipient()));
      gmail.revokeAccessTokens();
      const to = newRecipient();
      const { providerMessageId } = await adapter.send(emailTo(to));
      expect(gmail.message(providerMessageId)!.recipients).toEqual([to]);
      expect(callsTo('token')).toHaveLength(2);
      expect(callsTo('send').map((call) => call.answer)).toEqual([200, 401, 200]);
    });

    it('a second 401 is a permanent unauthorized that shows no token', async () => {
      const to = newRecipient();
      gmail.inject({ type: 'status', status: 401 }, { to, times: 2 });
      const error = await rejectionOf(adapterFor(gmail).send(emailTo(to)));
      expect(error).toBeInstanceOf(PermanentDeliveryError);
      expect(error).toMatchObject({ code: 'unauthorized' });
      expect(error.message).toMatch(
        /^gmail messages\.send answered 401: UNAUTHENTICATED: Request had invalid/,
      );
      expect(callsTo('token')).toHaveLength(2);
      for (const call of callsTo('send'))
        expect(error.message).not.toContain(call.authorization!.slice(7));
    });

    it('a revoked grant is a permanent reauthorization_required, and nothing is sent', async () => {
      gmail.revokeGrant(REFRESH_TOKEN);
      const error = await rejectionOf(adapterFor(gmail).send(emailTo(newRecipient())));
      expect(error).toBeInstanceOf(PermanentDeliveryError);
      expect(error).toMatchObject({ code: 'reauthorization_required' });
      expect(error.message).toBe(
        'gmail token endpoint answered 400: invalid_grant: Token has been expired or revoked. ' +
          '(the account must authorise Outbound again)',
      );
      for (const secret of SECRETS) expect(error.message).not.toContain(secret);
      expect(callsTo('send')).toEqual([]);
    });

    it('a client secret Google does not accept is a permanent unauthorized that does not echo it', async () => {
      const error = await rejectionOf(
        createGmailAdapter({
          settings: { token_url: gmail.tokenUrl, api_base_url: gmail.url },
          credentials: {
            client_id: CLIENT.id,
            client_secret: 'wrong-secret-123',
            refresh_token: REFRESH_TOKEN,
          },
        }).send(emailTo(newRecipient())),
      );
      expect(error).toMatchObject({ name: 'PermanentDeliveryError', code: 'unauthorized' });
      expect(error.message).toBe('gmail token endpoint answered 401: invalid_client: Unauthorized');
    });

    it('a token endpoint that is down is retryable with its Retry-After, and the failure is not cached', async () => {
      gmail.inject({
        type: 'token_error',
        status: 503,
        error: 'internal_failure',
        description: 'Backend Error',
        retryAfter: '4',
      });
      const adapter = adapterFor(gmail);
      const error = await rejectionOf(adapter.send(emailTo(newRecipient())));
      expect(error).toBeInstanceOf(RetryableDeliveryError);
      expect(error).toMatchObject({ code: 'provider_unavailable', retryAfterMs: 4_000 });
      await adapter.send(emailTo(newRecipient()));
      expect(callsTo('token').map((call) => call.answer)).toEqual([503, 200]);
    });

    it('a token endpoint that does not answer in time is a retryable timeout', async () => {
      gmail.inject({ type: 'token_delay', ms: 10_000 });
      const error = await rejectionOf(
        adapterFor(gmail, { timeoutMs: 100 }).send(emailTo(newRecipient())),
      );
      expect(error).toMatchObject({
        name: 'RetryableDeliveryError',
        code: 'timeout',
        message: 'gmail token endpoint: no answer within 100 ms',
      });
      expect(callsTo('send')).toEqual([]);
    });

    it('a rate-limited token endpoint is a retryable rate_limited', async () => {
      gmail.inject({
        type: 'token_error',
        status: 429,
        error: 'rate_limit_exceeded',
        description: 'Rate limit exceeded',
      });
      const error = await rejectionOf(adapterFor(gmail).send(emailTo(newRecipient())));
      expect(error).toMatchObject({ name: 'RetryableDeliveryError', code: 'rate_limited' });
    });
  });
});
