import { createTransport } from 'nodemailer';
import {
  parseMessage,
  type ChannelAdapter,
  type SendRequest,
  type SendResult,
} from '../channel-adapter.ts';
import { RetryableDeliveryError } from '../delivery-errors.ts';
import { callSignal } from '../http-calls.ts';
import { composeEmail } from './mime-message.ts';
import { smtpError } from './smtp.responses.ts';
import type { SmtpCredentials, SmtpSettings } from './smtp.settings.ts';

/** How long one SMTP transaction may take when the dispatcher does not say. */
export const DEFAULT_SMTP_TIMEOUT_MS = 15_000;

export interface SmtpAdapterOptions {
  settings: SmtpSettings;
  /** The login, when the server wants one; never in an error message. */
  credentials?: SmtpCredentials | undefined;
  /** How long the whole transaction may take, connection and TLS included; 15 s by default. */
  timeoutMs?: number | undefined;
}

/**
 * Sends email through one SMTP server with nodemailer's SMTP transport.
 *
 * Each send is one transaction on a new connection: connect (TLS as `settings.tls` says, the
 * certificate verified), log in when there are credentials, `MAIL FROM` the message's `from`,
 * `RCPT TO` every To, Cc and Bcc address, then `DATA` with the message `composeEmail` built
 * (Bcc header left out: only the envelope names those recipients). The result is the
 * message's Message-ID, which is the same on every attempt of one delivery.
 *
 * The transaction is given `timeoutMs` (and the request's `signal`); running out closes the
 * connection and is a retryable `timeout`. Failures are classified by `smtpError`: 4xx replies
 * and connection failures are retryable, 5xx replies permanent (a refused login is
 * `unauthorized`). A connection lost after `DATA` was sent stays retryable even though the
 * server may have taken the message: the `sending` window DESIGN §3 accepts.
 */
export function createSmtpAdapter(options: SmtpAdapterOptions): ChannelAdapter<'email'> {
  const { settings, credentials } = options;
  const timeoutMs = options.timeoutMs ?? DEFAULT_SMTP_TIMEOUT_MS;
  const where = `smtp ${settings.host}:${settings.port}`;
  const transport = createTransport({
    host: settings.host,
    port: settings.port,
    secure: settings.tls === 'tls',
    requireTLS: settings.tls === 'starttls',
    ignoreTLS: settings.tls === 'none',
    ...(credentials === undefined
      ? {}
      : { auth: { user: credentials.user, pass: credentials.password } }),
    tls: {
      minVersion: 'TLSv1.2',
      ...(settings.tls_ca === undefined ? {} : { ca: settings.tls_ca }),
    },
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
    disableFileAccess: true,
    disableUrlAccess: true,
    logger: false,
  });

  async function send(request: SendRequest<'email'>): Promise<SendResult> {
    if (request.signal?.aborted === true) {
      throw new RetryableDeliveryError('timeout', 'smtp: the send was aborted before it started');
    }
    const message = parseMessage('email', request.message);
    const { raw, envelope, messageId } = await composeEmail(message, {
      bccHeader: 'omit',
      deliveryId: request.deliveryId,
    });
    const signal = callSignal(timeoutMs, request.signal);
    try {
      await transport.sendMail({ envelope, raw, signal });
    } catch (error) {
      throw smtpError(where, error, signal, timeoutMs);
    }
    return { providerMessageId: messageId };
  }

  return Object.freeze({ channel: 'email', provider: 'smtp', send });
}
