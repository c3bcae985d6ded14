import { randomBytes, randomUUID } from 'node:crypto';
import { simpleParser, type AddressObject } from 'mailparser';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createGmailServer,
  startGmailServer,
  type GmailFault,
  type GmailServer,
} from '../../../../test/fakes/gmail-server.ts';
import { describeAdapterContract } from '../adapter-contract.ts';
import type { MessageInputOf, SendRequest } from '../channel-adapter.ts';
import { RetryableDeliveryError } from '../delivery-errors.ts';
import { createGmailAdapter, type GmailAdapterOptions } from './gmail.adapter.ts';

const CLIENT = {
  id: 'outbound-test.apps.googleusercontent.com',
  secret: 'GOCSPX-client-secret-value',
};
const REFRESH_TOKEN = '1//0g-refresh-token-secret';
const ACCOUNT = 'sender@example.com';
const SECRETS = [CLIENT.secret, REFRESH_TOKEN];

function adapterFor(gmail: GmailServer, options: Partial<GmailAdapterOptions> = {}) {
  return createGmailAdapter({
    settings: { token_url: gmail.tokenUrl, api_base_url: gmail.url },
    credentials: {
      client_id: CLIENT.id,
      client_secret: CLIENT.secret,
      refresh_token: REFRESH_TOKEN,
    },
    ...options,
  });
}

const newRecipient = () => `${randomUUID()}@example.net`;

function emailTo(to: string, extra: Partial<MessageInputOf<'email'>> = {}): SendRequest<'email'> {
  return {
    message: {
      channel: 'email',
      from: { address: ACCOUNT },
      to: [to],
      subject: 'Hello',
      text: 'Hi',
      ...extra,
    },
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

const addresses = (field: AddressObject | AddressObject[] | undefined) =>
  [field ?? []].flat().flatMap((group) => group.value.map((entry) => entry.address));

describe('Gmail', () => {
  const gmail = createGmailServer({ client: CLIENT, grants: { [REFRESH_TOKEN]: ACCOUNT } });
  beforeAll(() => gmail.start());
  afterAll(() => gmail.stop());

  const staged = (fault?: GmailFault, options: Partial<GmailAdapterOptions> = {}) => {
    const to = newRecipient();
    if (fault !== undefined) gmail.inject(fault, { to });
    return Promise.resolve({
      adapter: adapterFor(gmail, options),
      request: emailTo(to),
      recipient: to,
    });
  };

  describeAdapterContract('gmail', {
    channel: 'email',
    success: () => staged(),
    received: (id) => {
      const message = gmail.message(id);
      return Promise.resolve(
        message === undefined ? undefined : { recipient: message.recipients[0]! },
      );
    },
    permanentFailure: () =>
      staged({
        type: 'status',
        status: 400,
        message: 'Mail service not enabled',
        reason: 'failedPrecondition',
      }),
    retryableFailure: () => staged({ type: 'status', status: 503 }),
    timeout: () => staged({ type: 'delay', ms: 10_000 }, { timeoutMs: 150 }),
    retryAfter: async () => ({
      ...(await staged({ type: 'status', status: 429, retryAfter: '7' })),
      retryAfterMs: 7_000,
    }),
    secrets: SECRETS,
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

  describe('on the wire', () => {
    it('refreshes with the grant, then sends the whole message base64url-encoded in raw', async () => {
      const pdf = randomBytes(4_000);
      const { providerMessageId } = await adapterFor(gmail).send({
        message: {
          channel: 'email',
          from: { address: ACCOUNT, name: 'Zoë Señor' },
          to: ['ana@example.net'],
          cc: ['cy@example.net'],
          bcc: ['hidden@example.org'],
          subject: 'Prüfung ✓ 日本',
          text: 'Grüße ✓',
          html: '<p>Grüße ✓</p>',
          attachments: [
            {
              filename: 'report.pdf',
              contentType: 'application/pdf',
              contentBase64: pdf.toString('base64'),
            },
          ],
        },
        attempt: 1,
      });
      const [tokenCall, sendCall, ...others] = gmail.calls();
      expect(others).toEqual([]);
      expect(tokenCall).toMatchObject({
        endpoint: 'token',
        method: 'POST',
        body: {
          grant_type: 'refresh_token',
          client_id: CLIENT.id,
          client_secret: CLIENT.secret,
          refresh_token: REFRESH_TOKEN,
        },
        answer: 200,
      });
      expect(sendCall).toMatchObject({ endpoint: 'send', method: 'POST', answer: 200 });
      expect(sendCall!.authorization).toMatch(/^Bearer ya29\./);
      expect((sendCall!.body as { raw: string }).raw).toMatch(/^[A-Za-z0-9_-]+$/);

      const sent = gmail.message(providerMessageId)!;
      expect(providerMessageId).toMatch(/^[0-9a-f]{16}$/);
      expect(sent.account).toBe(ACCOUNT);
      expect(sent.recipients).toEqual(['ana@example.net', 'cy@example.net', 'hidden@example.org']);
      const parsed = await simpleParser(sent.delivered);
      expect(parsed.from?.value).toEqual([{ address: ACCOUNT, name: 'Zoë Señor' }]);
      expect(addresses(parsed.to)).toEqual(['ana@example.net']);
      expect(addresses(parsed.cc)).toEqual(['cy@example.net']);
      expect(parsed.bcc).toBeUndefined();
      expect(sent.delivered.toString('latin1')).not.toMatch(/^bcc:/im);
      expect(parsed.subject).toBe('Prüfung ✓ 日本');
      expect(parsed.text).toBe('Grüße ✓');
      expect(parsed.html).toBe('<p>Grüße ✓</p>');
      expect(parsed.attachments).toHaveLength(1);
      expect(parsed.attachments[0]).toMatchObject({
        filename: 'report.pdf',
        contentType: 'application/pdf',
      });
      expect(parsed.attachments[0]!.content.equals(pdf)).toBe(true);
    });

    it('sends every attempt of one delivery with the same Message-ID', async () => {
      const deliveryId = randomUUID();
      const adapter = adapterFor(gmail);
      const first = await adapter.send({ ...emailTo(newRecipient()), deliveryId });
      const again = await adapter.send({ ...emailTo(newRecipient()), deliveryId, attempt: 2 });
      const ids = await Promise.all(
        [first, again].map(
          async ({ providerMessageId }) =>
            (await simpleParser(gmail.message(providerMessageId)!.delivered)).messageId,
        ),
      );
      expect(ids).toEqual([`<${deliveryId}@example.com>`, `<${deliveryId}@example.com>`]);
    });
  });

  describe('classifying Gmail answers', () => {
    async function failure(fault: GmailFault, options: Partial<GmailAdapterOptions> = {}) {
      const to = newRecipient();
      gmail.inject(fault, { to });
      return rejectionOf(adapterFor(gmail, options).send(emailTo(to)));
    }

    it('a 429 is a retryable rate_limited, with or without Retry-After', async () => {
      const error = await failure({ type: 'status', status: 429, retryAfter: '30' });
      expect(error).toBeInstanceOf(RetryableDeliveryError);
      expect(error).toMatchObject({ code: 'rate_limited', retryAfterMs: 30_000 });
      expect(error.message).toBe(
        'gmail messages.send answered 429: RESOURCE_EXHAUSTED: User-rate limit exceeded.',
      );
      const none = await failure({ type: 'status', status: 429 });
      expect(none).toMatchObject({ code: 'rate_limited', retryAfterMs: undefined });
    });

    it.each([500, 502, 503])('a %i is a retryable provider_unavailable', async (status) => {
      const error = await failure({ type: 'status', status });
      expect(error).toBeInstanceOf(RetryableDeliveryError);
      expect(error).toMatchObject({ code: 'provider_unavailable' });
    });

    it.each(['rateLimitExceeded', 'userRateLimitExceeded', 'dailyLimitExceeded'])(
      'a 403 %s is a retryable rate_limited',
      async (reason) => {
        const error = await failure({
          type: 'status',
          status: 403,
          reason,
          message: 'Limit exceeded',
        });
        expect(error).toMatchObject({ name: 'RetryableDeliveryError', code: 'rate_limited' });
      },
    );

    it('a 403 for a missing scope is a permanent reauthorization_required', async () => {
      const error = await failure({
        type: 'status',
        status: 403,
        message: 'Request had insufficient authentication scopes.',
        reason: 'insufficientPermissions',
        detailReason: 'ACCESS_TOKEN_SCOPE_INSUFFICIENT',
      });
      expect(error).toMatchObject({
        name: 'PermanentDeliveryError',
        code: 'reauthorization_required',
      });
    });

    it('another 403 is a permanent unauthorized', async () => {
      const error = await failure({
        type: 'status',
        status: 403,
        reason: 'domainPolicy',
        message: 'Domain policy',
      });
      expect(error).toMatchObject({ name: 'PermanentDeliveryError', code: 'unauthorized' });
    });

    it('an invalid To header is a permanent invalid_recipient; other 400s rejected_by_provider', async () => {
      const invalid = await failure({ type: 'status', status: 400, message: 'Invalid To header' });
      expect(invalid).toMatchObject({ name: 'PermanentDeliveryError', code: 'invalid_recipient' });
      const other = await failure({
        type: 'status',
        status: 400,
        message: 'Precondition check failed.',
      });
      expect(other).toMatchObject({ code: 'rejected_by_provider' });
      expect(other.message).toBe(
        'gmail messages.send answered 400: INVALID_ARGUMENT: Precondition check failed.',
      );
    });

    it('a 200 without a message id is a permanent provider_bad_response', async () => {
      const error = await failure({ type: 'no_message_id' });
      expect(error).toMatchObject({
        name: 'PermanentDeliveryError',
        code: 'provider_bad_response',
      });
      expect(gmail.messages()).toHaveLength(1);
    });

    it('a dropped connection is a retryable connection_failed', async () => {
      const error = await failure({ type: 'reset_after_send' });
      expect(error).toMatchObject({ name: 'RetryableDeliveryError', code: 'connection_failed' });
    });

    it('no answer within timeoutMs is a retryable timeout', async () => {
      const error = await failure({ type: 'delay', ms: 10_000 }, { timeoutMs: 100 });
      expect(error).toMatchObject({ name: 'RetryableDeliveryError', code: 'timeout' });
      expect(error.message).toBe('gmail messages.send: no answer within 100 ms');
    });

    it('a server that is not listening is a retryable connection_failed', async () => {
      const gone = await startGmailServer({ client: CLIENT });
      const adapter = adapterFor(gone);
      await gone.stop();
      const error = await rejectionOf(adapter.send(emailTo(newRecipient())));
      expect(error).toMatchObject({ name: 'RetryableDeliveryError', code: 'connection_failed' });
      expect(error.message).toContain('ECONNREFUSED');
    });

    it('an aborted send stops before any call; a malformed message reaches nothing', async () => {
      const aborted = await rejectionOf(
        adapterFor(gmail).send({ ...emailTo(newRecipient()), signal: AbortSignal.abort() }),
      );
      expect(aborted).toMatchObject({ name: 'RetryableDeliveryError', code: 'timeout' });
      const malformed = await rejectionOf(
        adapterFor(gmail).send(
          emailTo(newRecipient(), {
            attachments: [{ filename: 'x', contentType: 'a/b', contentBase64: '%%' }],
          }),
        ),
      );
      expect(malformed).toMatchObject({ name: 'PermanentDeliveryError', code: 'invalid_message' });
      expect(gmail.calls()).toEqual([]);
    });
  });
});
