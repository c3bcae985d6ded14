import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import {
  checkTokenRequest,
  googleApiError,
  INVALID_TOKEN_CHALLENGE,
  oauthError,
  readSendRequest,
  tokenAnswer,
  withoutBcc,
  type GmailCall,
  type GmailFault,
  type GmailSentMessage,
} from './gmail-wire.ts';
import { closeServer, listenOnLoopback } from './loopback-http.ts';

export type { GmailCall, GmailFault, GmailSentMessage };

export interface GmailServerOptions {
  /** The one OAuth client the token endpoint knows. */
  client: { id: string; secret: string };
  /** Refresh tokens it honours, each with the account it grants; more with `grant()`. */
  grants?: Record<string, string>;
  /** `expires_in` of the access tokens it issues; 3599 s, as Google's. */
  tokenLifetimeSeconds?: number;
}

/** Which requests a fault applies to: sends with `to` among their recipients, token requests for `refreshToken`. */
export interface GmailFaultTarget {
  to?: string;
  refreshToken?: string;
  /** How many matching requests get the fault; 1 by default. */
  times?: number;
}

/**
 * A local HTTP server speaking Google's OAuth token endpoint (`POST /token`, form-encoded
 * `grant_type=refresh_token`, `client_id`, `client_secret`, `refresh_token`) and the Gmail API's
 * `POST /gmail/v1/users/me/messages/send` `{ raw }` with a Bearer token. It checks requests in
 * Google's order and with Google's answers: client (401 `invalid_client`), grant (400
 * `invalid_grant`); access token (401 with `WWW-Authenticate`), JSON and `raw` (400), recipients
 * from the To, Cc and Bcc headers (400 "Recipient address required" / "Invalid To header").
 * An accepted message gets a 16-hex-digit id and is kept with its Bcc header removed.
 *
 * It leaves out everything else Gmail does: no send-as check on From, no threading, no quotas
 * unless staged with `inject`.
 */
export interface GmailServer {
  /** `http://127.0.0.1:<port>`: the API base URL. */
  readonly url: string;
  /** `${url}/token`. */
  readonly tokenUrl: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  inject(fault: GmailFault, target?: GmailFaultTarget): void;
  /** Honours `refreshToken` for `account` from now on. */
  grant(refreshToken: string, account: string): void;
  /** The refresh token is revoked: exchanging it gets `invalid_grant`. */
  revokeGrant(refreshToken: string): void;
  /** Every access token issued so far stops working (as when Google revokes them). */
  revokeAccessTokens(): void;
  calls(): GmailCall[];
  messages(): GmailSentMessage[];
  message(id: string): GmailSentMessage | undefined;
  /** Forgets calls, messages and staged faults (grants and tokens stay). */
  reset(): void;
}

const SEND_PATH = '/gmail/v1/users/me/messages/send';

export function createGmailServer(options: GmailServerOptions): GmailServer {
  const lifetime = options.tokenLifetimeSeconds ?? 3599;
  const grants = new Map(Object.entries(options.grants ?? {}));
  const revoked = new Set<string>();
  const accessTokens = new Map<string, { account: string; expiresAt: number }>();
  let calls: GmailCall[] = [];
  let messages: GmailSentMessage[] = [];
  let faults: { fault: GmailFault; target: GmailFaultTarget; left: number }[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let port: number | undefined;

  const server = createServer((req, res) => {
    void handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) reply(res, 500, googleApiError(500, { message: String(error) }));
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const text = await readBody(req);
    const path = (req.url ?? '').split('?')[0] ?? '';
    const endpoint =
      req.method !== 'POST'
        ? 'other'
        : path === '/token'
          ? 'token'
          : path === SEND_PATH
            ? 'send'
            : 'other';
    const call: GmailCall = {
      endpoint,
      method: req.method ?? '',
      path: req.url ?? '',
      authorization: req.headers.authorization,
      body:
        endpoint === 'token'
          ? Object.fromEntries(new URLSearchParams(text))
          : (tryJson(text) ?? text),
      answer: 'pending',
    };
    calls.push(call);
    const answer = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      call.answer = status;
      reply(res, status, body, headers);
    };
    if (endpoint === 'token') return await token(call.body as Record<string, string>, answer);
    if (endpoint === 'other') return answer(404, googleApiError(404, { message: 'Not Found' }));

    const bearer = /^Bearer (.+)$/.exec(call.authorization ?? '')?.[1];
    const access = bearer === undefined ? undefined : accessTokens.get(bearer);
    if (access === undefined || access.expiresAt <= Date.now()) {
      return answer(401, googleApiError(401), INVALID_TOKEN_CHALLENGE);
    }
    const request = readSendRequest(call.body);
    if ('refusal' in request) return answer(400, request.refusal);
    const { bytes, recipients } = request;

    const fault = take(
      (target) => target.to === undefined || recipients.includes(target.to.toLowerCase()),
    );
    const record = () => {
      const id = randomBytes(8).toString('hex');
      const sent = {
        id,
        threadId: id,
        account: access.account,
        recipients,
        raw: bytes,
        delivered: withoutBcc(bytes),
      };
      messages.push(sent);
      return sent;
    };
    switch (fault?.type) {
      case 'status': {
        const { status, retryAfter, ...words } = fault;
        return answer(
          status,
          googleApiError(status, words),
          retryAfter === undefined ? {} : { 'retry-after': retryAfter },
        );
      }
      case 'delay':
        await hold(fault.ms);
        break;
      case 'reset_after_send':
        record();
        call.answer = 'reset';
        req.socket.destroy();
        return;
      case 'no_message_id':
        record();
        return answer(200, {});
      case 'token_error':
      case 'token_delay':
      case undefined:
        break;
    }
    const sent = record();
    answer(200, { id: sent.id, threadId: sent.threadId, labelIds: ['SENT'] });
  }

  function hold(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        resolve();
      }, ms);
      timers.add(timer);
    });
  }

  async function token(
    form: Record<string, string>,
    answer: (status: number, body: unknown, headers?: Record<string, string>) => void,
  ): Promise<void> {
    const checked = checkTokenRequest(form, options.client);
    if ('refusal' in checked) return answer(checked.status, checked.refusal);
    const { refreshToken } = checked;
    const fault = take(
      (target) => target.refreshToken === undefined || target.refreshToken === refreshToken,
      'token',
    );
    if (fault?.type === 'token_delay') await hold(fault.ms);
    if (fault?.type === 'token_error') {
      const headers: Record<string, string> =
        fault.retryAfter === undefined ? {} : { 'retry-after': fault.retryAfter };
      return answer(fault.status, oauthError(fault.error, fault.description), headers);
    }
    if (revoked.has(refreshToken)) {
      return answer(400, oauthError('invalid_grant', 'Token has been expired or revoked.'));
    }
    const account = grants.get(refreshToken);
    if (account === undefined) return answer(400, oauthError('invalid_grant', 'Bad Request'));
    const accessToken = `ya29.${randomBytes(30).toString('base64url')}`;
    accessTokens.set(accessToken, { account, expiresAt: Date.now() + lifetime * 1_000 });
    answer(200, tokenAnswer(accessToken, lifetime));
  }

  /** The first staged fault of the kind that matches; `token_*` faults only for token requests. */
  function take(
    matches: (target: GmailFaultTarget) => boolean,
    kind: 'token' | 'send' = 'send',
  ): GmailFault | undefined {
    const staged = faults.find(
      ({ fault, target, left }) =>
        left > 0 && fault.type.startsWith('token_') === (kind === 'token') && matches(target),
    );
    if (staged === undefined) return undefined;
    staged.left -= 1;
    return staged.fault;
  }

  return {
    get url() {
      if (port === undefined) throw new Error('the fake Gmail server is not started');
      return `http://127.0.0.1:${port}`;
    },
    get tokenUrl() {
      return `${this.url}/token`;
    },
    start: async () => {
      port = await listenOnLoopback(server);
    },
    stop: async () => {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await closeServer(server);
    },
    inject: (fault, target = {}) => void faults.push({ fault, target, left: target.times ?? 1 }),
    grant: (refreshToken, account) => {
      grants.set(refreshToken, account);
      revoked.delete(refreshToken);
    },
    revokeGrant: (refreshToken) => void revoked.add(refreshToken),
    revokeAccessTokens: () => accessTokens.clear(),
    calls: () => calls.map((call) => ({ ...call })),
    messages: () => [...messages],
    message: (id) => messages.find((message) => message.id === id),
    reset: () => {
      calls = [];
      messages = [];
      faults = [];
    },
  };
}

/** A started fake; `stop()` it when done. */
export async function startGmailServer(options: GmailServerOptions): Promise<GmailServer> {
  const server = createGmailServer(options);
  await server.start();
  return server;
}

function reply(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8', ...headers });
  res.end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function tryJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
