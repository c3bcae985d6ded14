import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerSession } from 'smtp-server';

/**
 * How the fake secures its connections:
 * - `none`: plain text; STARTTLS is neither offered nor accepted;
 * - `starttls`: plain text, STARTTLS offered (with `certificate`);
 * - `tls`: TLS from the first byte (with `certificate`).
 */
export type SmtpServerTls = 'none' | 'starttls' | 'tls';

export interface SmtpServerOptions {
  /** `none` unless given. */
  tls?: SmtpServerTls;
  /** The key and certificate (PEM) for `starttls` and `tls`. */
  certificate?: { key: string; cert: string };
  /** The users it accepts (user → password); it then requires AUTH before MAIL FROM. */
  users?: Record<string, string>;
}

/** A message the fake accepted at the end of DATA. */
export interface SmtpReceivedMessage {
  /** MAIL FROM and every accepted RCPT TO, lower-cased. */
  envelope: { from: string; to: string[] };
  /** The message as DATA carried it (dot-stuffing undone). */
  raw: Buffer;
  /** Its `Message-ID` header, angle brackets included. */
  messageId: string | undefined;
  /** Whether the session was under TLS (implicit or upgraded) when the message came. */
  secure: boolean;
  /** The user that logged in, if any. */
  user: string | undefined;
}

/**
 * A failure to stage, each a real SMTP server's answer:
 * - `reject_recipient`: answers that address's RCPT TO with `code` (550 mailbox unavailable...);
 * - `reject_data`: answers the end of DATA with `code` (451 try later, 554 rejected), keeping
 *   nothing;
 * - `delay`: holds the reply to the end of DATA `ms`, then accepts (unless the client hung up).
 */
export type SmtpFault =
  | { type: 'reject_recipient'; address: string; code: number; message: string }
  | { type: 'reject_data'; code: number; message: string }
  | { type: 'delay'; ms: number };

/**
 * A real SMTP server on 127.0.0.1 (nodemailer's `smtp-server`): EHLO, optional STARTTLS or
 * implicit TLS, AUTH PLAIN/LOGIN against `users`, MAIL FROM, RCPT TO, DATA. It keeps what it
 * receives and answers as staged with `inject`; `received(messageId)` finds a message by its
 * Message-ID header.
 */
export interface SmtpTestServer {
  readonly port: number;
  start(): Promise<void>;
  /** Closes the server and every open connection. */
  stop(): Promise<void>;
  /** Stages a fault for the next message whose envelope names `to` (any message when omitted). */
  inject(fault: SmtpFault, target?: { to?: string }): void;
  messages(): SmtpReceivedMessage[];
  received(messageId: string): SmtpReceivedMessage | undefined;
  /** Forgets messages and staged faults. */
  reset(): void;
}

export function createSmtpServer(options: SmtpServerOptions = {}): SmtpTestServer {
  const mode = options.tls ?? 'none';
  const users = options.users;
  let messages: SmtpReceivedMessage[] = [];
  let faults: { fault: SmtpFault; to: string | undefined }[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let port: number | undefined;

  const take = (recipients: string[], wanted: (fault: SmtpFault) => boolean) => {
    const index = faults.findIndex(
      ({ fault, to }) => wanted(fault) && (to === undefined || recipients.includes(to)),
    );
    return index === -1 ? undefined : faults.splice(index, 1)[0]!.fault;
  };
  const recipientsOf = (session: SMTPServerSession) =>
    session.envelope.rcptTo.map((rcpt) => rcpt.address.toLowerCase());

  const server = new SMTPServer({
    secure: mode === 'tls',
    ...(options.certificate ?? {}),
    hideSTARTTLS: mode === 'none',
    disabledCommands: [...(mode === 'none' ? ['STARTTLS'] : []), ...(users ? [] : ['AUTH'])],
    authOptional: users === undefined,
    allowInsecureAuth: mode === 'none',
    logger: false,
    closeTimeout: 100,
    onAuth(auth, _session, callback) {
      if (users?.[auth.username ?? ''] === auth.password && auth.password !== undefined) {
        return callback(null, { user: auth.username });
      }
      callback(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }));
    },
    onRcptTo(address, _session, callback) {
      const fault = take(
        [address.address.toLowerCase()],
        (f) =>
          f.type === 'reject_recipient' &&
          f.address.toLowerCase() === address.address.toLowerCase(),
      );
      if (fault?.type === 'reject_recipient') {
        return callback(Object.assign(new Error(fault.message), { responseCode: fault.code }));
      }
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const recipients = recipientsOf(session);
        const fault = take(recipients, (f) => f.type !== 'reject_recipient');
        if (fault?.type === 'reject_data') {
          return callback(Object.assign(new Error(fault.message), { responseCode: fault.code }));
        }
        const accept = () => {
          const raw = Buffer.concat(chunks);
          const mailFrom = session.envelope.mailFrom;
          messages.push({
            envelope: {
              from: mailFrom === false ? '' : mailFrom.address.toLowerCase(),
              to: recipients,
            },
            raw,
            messageId: /^message-id:\s*(<[^>\r\n]+>)/im.exec(headerOf(raw))?.[1],
            secure: session.secure,
            user: typeof session.user === 'string' ? session.user : undefined,
          });
          callback(null, 'OK: queued');
        };
        if (fault?.type !== 'delay') return accept();
        const timer = setTimeout(() => {
          timers.delete(timer);
          accept();
        }, fault.ms);
        timers.add(timer);
      });
    },
  });
  server.on('error', () => {
    // A client that hangs up mid-session is expected in these tests.
  });

  return {
    get port() {
      if (port === undefined) throw new Error('the fake SMTP server is not started');
      return port;
    },
    start: () =>
      new Promise<void>((resolve, reject) => {
        server.server.once('error', reject);
        server.listen(0, '127.0.0.1', () => {
          port = (server.server.address() as AddressInfo).port;
          resolve();
        });
      }),
    stop: () =>
      new Promise<void>((resolve) => {
        for (const timer of timers) clearTimeout(timer);
        timers.clear();
        server.close(() => resolve());
      }),
    inject: (fault, target = {}) => void faults.push({ fault, to: target.to?.toLowerCase() }),
    messages: () => [...messages],
    received: (messageId) => messages.find((message) => message.messageId === messageId),
    reset: () => {
      messages = [];
      faults = [];
    },
  };
}

/** A started fake; `stop()` it when done. */
export async function startSmtpServer(options: SmtpServerOptions = {}): Promise<SmtpTestServer> {
  const server = createSmtpServer(options);
  await server.start();
  return server;
}

function headerOf(raw: Buffer): string {
  const text = raw.toString('latin1');
  const blank = text.indexOf('\r\n\r\n');
  return blank === -1 ? text : text.slice(0, blank);
}
