import { randomBytes, randomUUID } from 'node:crypto';
import { simpleParser, type AddressObject } from 'mailparser';
import { generate } from 'selfsigned';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  createSmtpServer,
  startSmtpServer,
  type SmtpServerOptions,
  type SmtpTestServer,
} from '../../../../test/fakes/smtp-server.ts';
import { describeAdapterContract } from '../adapter-contract.ts';
import type { MessageInputOf, SendRequest } from '../channel-adapter.ts';
import { PermanentDeliveryError, RetryableDeliveryError } from '../delivery-errors.ts';
import { createSmtpAdapter, type SmtpAdapterOptions } from './smtp.adapter.ts';
import { smtpSettingsSchema, type SmtpTlsMode } from './smtp.settings.ts';

const USER = 'mailer@example.com';
const PASSWORD = 'correct horse battery staple';
const FROM = 'mailer@example.com';

function adapterFor(
  server: SmtpTestServer,
  tls: SmtpTlsMode = 'none',
  options: Partial<SmtpAdapterOptions> = {},
) {
  return createSmtpAdapter({
    settings: smtpSettingsSchema.parse({ host: '127.0.0.1', port: server.port, tls }),
    credentials: { user: USER, password: PASSWORD },
    ...options,
  });
}

const newRecipient = () => `${randomUUID()}@example.net`;

function emailTo(to: string, extra: Partial<MessageInputOf<'email'>> = {}): SendRequest<'email'> {
  return {
    message: {
      channel: 'email',
      from: { address: FROM },
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

describe('SMTP', () => {
  const smtp = createSmtpServer({ users: { [USER]: PASSWORD } });
  beforeAll(() => smtp.start());
  afterAll(() => smtp.stop());

  const staged = (fault?: (to: string) => void, options: Partial<SmtpAdapterOptions> = {}) => {
    const to = newRecipient();
    fault?.(to);
    return Promise.resolve({
      adapter: adapterFor(smtp, 'none', options),
      request: emailTo(to),
      recipient: to,
    });
  };

  describeAdapterContract('smtp', {
    channel: 'email',
    success: () => staged(),
    received: (id) => {
      const message = smtp.received(id);
      return Promise.resolve(
        message === undefined ? undefined : { recipient: message.envelope.to[0]! },
      );
    },
    permanentFailure: () =>
      staged((to) =>
        smtp.inject({
          type: 'reject_recipient',
          address: to,
          code: 550,
          message: '5.1.1 Mailbox unavailable',
        }),
      ),
    retryableFailure: () =>
      staged((to) =>
        smtp.inject({ type: 'reject_data', code: 451, message: '4.3.0 Try again later' }, { to }),
      ),
    timeout: () =>
      staged((to) => smtp.inject({ type: 'delay', ms: 10_000 }, { to }), { timeoutMs: 300 }),
    retryAfter: { notApplicable: 'SMTP replies carry no Retry-After: a 4xx only says "later"' },
    secrets: [PASSWORD],
  });
});

describe('SMTP adapter', () => {
  let smtp: SmtpTestServer;
  beforeAll(async () => {
    smtp = await startSmtpServer({ users: { [USER]: PASSWORD } });
  });
  afterAll(() => smtp.stop());
  beforeEach(() => smtp.reset());

  it('logs in and sends to every To, Cc and Bcc address, while no header names the Bcc ones', async () => {
    const file = randomBytes(3_000);
    const { providerMessageId } = await adapterFor(smtp).send({
      message: {
        channel: 'email',
        from: { address: FROM, name: 'Équipe Outbound' },
        to: ['ana@example.net'],
        cc: ['cy@example.net'],
        bcc: ['hidden@example.org', 'also-hidden@example.org'],
        subject: 'Ünïcödé ✓',
        text: 'plain ✓',
        html: '<p>html ✓</p>',
        attachments: [
          {
            filename: 'data.bin',
            contentType: 'application/octet-stream',
            contentBase64: file.toString('base64'),
          },
        ],
      },
      attempt: 1,
    });
    const [received, ...others] = smtp.messages();
    expect(others).toEqual([]);
    expect(received!.envelope).toEqual({
      from: FROM,
      to: ['ana@example.net', 'cy@example.net', 'hidden@example.org', 'also-hidden@example.org'],
    });
    expect(received!.user).toBe(USER);
    expect(received!.secure).toBe(false);
    expect(received!.messageId).toBe(providerMessageId);
    expect(received!.raw.toString('latin1')).not.toMatch(/^bcc:/im);
    expect(received!.raw.toString('latin1')).not.toContain('hidden@example.org');
    const parsed = await simpleParser(received!.raw);
    expect(parsed.from?.value).toEqual([{ address: FROM, name: 'Équipe Outbound' }]);
    expect(addresses(parsed.to)).toEqual(['ana@example.net']);
    expect(addresses(parsed.cc)).toEqual(['cy@example.net']);
    expect(parsed.bcc).toBeUndefined();
    expect(parsed.subject).toBe('Ünïcödé ✓');
    expect(parsed.text).toBe('plain ✓');
    expect(parsed.html).toBe('<p>html ✓</p>');
    expect(parsed.attachments[0]!.content.equals(file)).toBe(true);
  });

  it('answers with the Message-ID, the same on every attempt of one delivery', async () => {
    const deliveryId = randomUUID();
    const adapter = adapterFor(smtp);
    const first = await adapter.send({ ...emailTo(newRecipient()), deliveryId });
    const again = await adapter.send({ ...emailTo(newRecipient()), deliveryId, attempt: 2 });
    expect(first.providerMessageId).toBe(`<${deliveryId}@example.com>`);
    expect(again.providerMessageId).toBe(first.providerMessageId);
  });

  it('a wrong password is a permanent unauthorized that does not show it', async () => {
    const error = await rejectionOf(
      adapterFor(smtp, 'none', { credentials: { user: USER, password: 'wrong-password-42' } }).send(
        emailTo(newRecipient()),
      ),
    );
    expect(error).toBeInstanceOf(PermanentDeliveryError);
    expect(error).toMatchObject({ code: 'unauthorized' });
    expect(error.message).toMatch(/^smtp 127\.0\.0\.1:\d+ AUTH PLAIN: Invalid login: 535 /);
    expect(error.message).not.toContain('wrong-password-42');
    expect(smtp.messages()).toEqual([]);
  });

  it('no credentials for a server that wants them is a permanent unauthorized', async () => {
    const error = await rejectionOf(
      adapterFor(smtp, 'none', { credentials: undefined }).send(emailTo(newRecipient())),
    );
    expect(error).toMatchObject({ name: 'PermanentDeliveryError', code: 'unauthorized' });
    expect(error.message).toContain('530');
  });

  it('a server that refuses the connection is a retryable connection_failed', async () => {
    const gone = await startSmtpServer();
    const adapter = adapterFor(gone, 'none', { credentials: undefined });
    await gone.stop();
    const error = await rejectionOf(adapter.send(emailTo(newRecipient())));
    expect(error).toBeInstanceOf(RetryableDeliveryError);
    expect(error).toMatchObject({ code: 'connection_failed' });
    expect(error.message).toContain('ECONNREFUSED');
  });

  it('a 554 at the end of DATA is a permanent rejected_by_provider', async () => {
    smtp.inject({ type: 'reject_data', code: 554, message: '5.7.1 Message rejected as spam' });
    const error = await rejectionOf(adapterFor(smtp).send(emailTo(newRecipient())));
    expect(error).toMatchObject({ name: 'PermanentDeliveryError', code: 'rejected_by_provider' });
    expect(error.message).toContain('554 5.7.1 Message rejected as spam');
  });

  it('a 4xx about sending too fast is a retryable rate_limited', async () => {
    smtp.inject({
      type: 'reject_data',
      code: 451,
      message: '4.7.1 Rate limit exceeded, slow down',
    });
    const error = await rejectionOf(adapterFor(smtp).send(emailTo(newRecipient())));
    expect(error).toMatchObject({ name: 'RetryableDeliveryError', code: 'rate_limited' });
  });

  it('sends to the recipients the server accepts when it refuses only some', async () => {
    const refused = newRecipient();
    smtp.inject({ type: 'reject_recipient', address: refused, code: 550, message: 'No such user' });
    const { providerMessageId } = await adapterFor(smtp).send(
      emailTo('ana@example.net', { cc: [refused] }),
    );
    expect(smtp.received(providerMessageId)!.envelope.to).toEqual(['ana@example.net']);
  });

  it('an aborted send is a retryable timeout and reaches nothing', async () => {
    const error = await rejectionOf(
      adapterFor(smtp).send({ ...emailTo(newRecipient()), signal: AbortSignal.abort() }),
    );
    expect(error).toMatchObject({ name: 'RetryableDeliveryError', code: 'timeout' });
    expect(smtp.messages()).toEqual([]);
  });
});

describe('SMTP adapter over TLS', () => {
  let certificate: { key: string; cert: string };
  const servers: SmtpTestServer[] = [];
  beforeAll(async () => {
    const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
      keyType: 'ec',
      algorithm: 'sha256',
      extensions: [
        { name: 'basicConstraints', cA: false },
        {
          name: 'subjectAltName',
          altNames: [
            { type: 2, value: 'localhost' },
            { type: 7, ip: '127.0.0.1' },
          ],
        },
      ],
    });
    certificate = { key: pems.private, cert: pems.cert };
  });
  afterAll(() => Promise.all(servers.map((server) => server.stop())));

  async function serve(options: SmtpServerOptions) {
    const server = await startSmtpServer({ certificate, users: { [USER]: PASSWORD }, ...options });
    servers.push(server);
    return server;
  }
  const trusting = (server: SmtpTestServer, tls: SmtpTlsMode) =>
    createSmtpAdapter({
      settings: smtpSettingsSchema.parse({
        host: '127.0.0.1',
        port: server.port,
        tls,
        tls_ca: certificate.cert,
      }),
      credentials: { user: USER, password: PASSWORD },
    });

  it.each(['starttls', 'tls'] as const)(
    '%s: sends under TLS, verifying the certificate against tls_ca',
    async (tls) => {
      const server = await serve({ tls });
      const { providerMessageId } = await trusting(server, tls).send(emailTo(newRecipient()));
      expect(server.received(providerMessageId)).toMatchObject({ secure: true, user: USER });
    },
  );

  it('none: stays in plain text even when the server offers STARTTLS', async () => {
    const server = await serve({ tls: 'starttls', users: undefined });
    const adapter = createSmtpAdapter({
      settings: smtpSettingsSchema.parse({ host: '127.0.0.1', port: server.port, tls: 'none' }),
    });
    const { providerMessageId } = await adapter.send(emailTo(newRecipient()));
    expect(server.received(providerMessageId)).toMatchObject({ secure: false, user: undefined });
  });

  it('none: a server that will not take a password in plain text is a permanent unauthorized', async () => {
    const server = await serve({ tls: 'starttls' });
    const error = await rejectionOf(trusting(server, 'none').send(emailTo(newRecipient())));
    expect(error).toMatchObject({ name: 'PermanentDeliveryError', code: 'unauthorized' });
    expect(error.message).toContain('538 Error: Must issue a STARTTLS command first');
  });

  it('starttls: refuses a server that does not offer STARTTLS, sending nothing', async () => {
    const server = await serve({ tls: 'none' });
    const error = await rejectionOf(trusting(server, 'starttls').send(emailTo(newRecipient())));
    expect(error).toMatchObject({ name: 'PermanentDeliveryError', code: 'rejected_by_provider' });
    expect(error.message).toContain('STARTTLS');
    expect(server.messages()).toEqual([]);
  });

  it.each(['starttls', 'tls'] as const)(
    '%s: a certificate it cannot verify is a permanent rejected_by_provider',
    async (tls) => {
      const server = await serve({ tls });
      const error = await rejectionOf(adapterFor(server, tls).send(emailTo(newRecipient())));
      expect(error).toMatchObject({ name: 'PermanentDeliveryError', code: 'rejected_by_provider' });
      expect(error.message).toContain("the server's certificate is not trusted");
      expect(error.message).not.toContain(PASSWORD);
      expect(server.messages()).toEqual([]);
    },
  );
});
