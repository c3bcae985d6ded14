/* What Google's token endpoint and the Gmail API answer, for the fake in `gmail-server.ts`. */

/** One HTTP request the fake received. */
export interface GmailCall {
  endpoint: 'token' | 'send' | 'other';
  method: string;
  path: string;
  /** The `Authorization` header, if any. */
  authorization: string | undefined;
  /** The form of a token request; the JSON body of a send (or its text when not JSON). */
  body: unknown;
  /** The status the fake answered; `reset` when it dropped the connection; `pending` meanwhile. */
  answer: number | 'reset' | 'pending';
}

/** A message Gmail accepted. */
export interface GmailSentMessage {
  id: string;
  threadId: string;
  /** The account whose access token sent it. */
  account: string;
  /** To, Cc and Bcc addresses, lower-cased, in that order: who Gmail delivers to. */
  recipients: string[];
  /** The bytes `raw` carried, Bcc header included. */
  raw: Buffer;
  /** What recipients get: `raw` without its Bcc header. */
  delivered: Buffer;
}

/**
 * A failure to stage, each Google's real answer:
 * - `status`: `messages.send` answers `status` with Google's API error body (`reason` and
 *   `detailReason` as Google sets them) and `Retry-After` when given; nothing is sent;
 * - `token_error`: the token endpoint answers `status` with an OAuth error body
 *   (`{ error, error_description }`) and `Retry-After` when given;
 * - `token_delay`: holds a token request `ms`, then handles it;
 * - `delay`: holds a send `ms`, then handles it (a client that hung up does not cancel it);
 * - `reset_after_send`: sends the message, then drops the connection without answering;
 * - `no_message_id`: sends the message, then answers 200 `{}`.
 */
export type GmailFault =
  | {
      type: 'status';
      status: number;
      message?: string;
      reason?: string;
      detailReason?: string;
      retryAfter?: string;
    }
  | { type: 'token_error'; status: number; error: string; description: string; retryAfter?: string }
  | { type: 'token_delay'; ms: number }
  | { type: 'delay'; ms: number }
  | { type: 'reset_after_send' }
  | { type: 'no_message_id' };

/** The canonical status Google's API errors carry beside the HTTP code (google.rpc.Code). */
const RPC_STATUS: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  409: 'ABORTED',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  502: 'UNAVAILABLE',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

/** The `reason` Google puts in `errors[]` for each code, unless a fault says otherwise. */
const DEFAULT_REASON: Record<number, string> = {
  400: 'invalidArgument',
  401: 'authError',
  403: 'forbidden',
  404: 'notFound',
  429: 'rateLimitExceeded',
  500: 'backendError',
  503: 'backendError',
};

const DEFAULT_MESSAGE: Record<number, string> = {
  400: 'Bad Request',
  401:
    'Request had invalid authentication credentials. Expected OAuth 2 access token, login ' +
    'cookie or other valid authentication credential. See ' +
    'https://developers.google.com/identity/sign-in/web/devconsole-project.',
  403: 'The caller does not have permission',
  429: 'User-rate limit exceeded.',
  500: 'Internal error encountered.',
  503: 'The service is currently unavailable.',
};

/**
 * Google's API error body: `{ error: { code, message, errors: [{ message, domain, reason }],
 * status } }`, with an `ErrorInfo` in `details` when `detailReason` is given (as Google does for
 * a token without the needed scope: `ACCESS_TOKEN_SCOPE_INSUFFICIENT`).
 */
export function googleApiError(
  code: number,
  options: { message?: string; reason?: string; detailReason?: string } = {},
): unknown {
  const message = options.message ?? DEFAULT_MESSAGE[code] ?? 'Error';
  const reason = options.reason ?? DEFAULT_REASON[code] ?? 'failedPrecondition';
  return {
    error: {
      code,
      message,
      errors: [
        {
          message: code === 401 ? 'Invalid Credentials' : message,
          domain: code === 429 ? 'usageLimits' : 'global',
          reason,
          ...(code === 401 ? { location: 'Authorization', locationType: 'header' } : {}),
        },
      ],
      status: RPC_STATUS[code] ?? (code >= 500 ? 'INTERNAL' : 'FAILED_PRECONDITION'),
      ...(options.detailReason === undefined
        ? {}
        : {
            details: [
              {
                '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
                reason: options.detailReason,
                domain: 'googleapis.com',
                metadata: { service: 'gmail.googleapis.com' },
              },
            ],
          }),
    },
  };
}

/** The header Google sends with a 401 for a missing or bad access token. */
export const INVALID_TOKEN_CHALLENGE = {
  'www-authenticate': 'Bearer realm="https://accounts.google.com/", error="invalid_token"',
};

/** Google's OAuth error body (RFC 6749 §5.2). */
export function oauthError(error: string, description: string): unknown {
  return { error, error_description: description };
}

/** The parts of a message's top-level header Gmail reads to find recipients. */
export interface ParsedHeaders {
  /** Unfolded header lines, `Name: value`, in order. */
  lines: string[];
  get(name: string): string[];
}

/** Splits a message into its unfolded header lines and its body (after the first blank line). */
export function parseHeaders(raw: Buffer): { headers: ParsedHeaders; headerEnd: number } {
  const text = raw.toString('latin1');
  const blank = text.indexOf('\r\n\r\n');
  const headerEnd = blank === -1 ? text.length : blank;
  const lines = text
    .slice(0, headerEnd)
    .replaceAll(/\r\n(?=[ \t])/g, '')
    .split('\r\n')
    .filter((line) => line !== '');
  return {
    headerEnd,
    headers: {
      lines,
      get: (name) =>
        lines
          .filter((line) => line.toLowerCase().startsWith(`${name.toLowerCase()}:`))
          .map((line) => line.slice(name.length + 1).trim()),
    },
  };
}

/**
 * The addresses of an address-list header value: `<a@b>` forms and bare addresses. Names are
 * ASCII (RFC 2047 encoded words hold no `@` or `<`), so this is enough for what MIME libraries
 * write, though not for every valid RFC 5322 list.
 */
export function addressesOf(value: string): string[] {
  const found: string[] = [];
  for (const match of value.matchAll(/<([^<>\s]+@[^<>\s]+)>|(?:^|[\s,])([^\s<>",]+@[^\s<>",]+)/g)) {
    const address = match[1] ?? match[2];
    if (address !== undefined) found.push(address.toLowerCase());
  }
  return found;
}

/** The message without its Bcc header: what Gmail delivers and keeps in Sent. */
export function withoutBcc(raw: Buffer): Buffer {
  const text = raw.toString('latin1');
  const blank = text.indexOf('\r\n\r\n');
  const head = text.slice(0, blank === -1 ? text.length : blank);
  const kept = head.replaceAll(/^bcc:.*(?:\r\n[ \t].*)*(?:\r\n|$)/gim, '').replace(/\r\n$/, '');
  return Buffer.from(kept + text.slice(head.length), 'latin1');
}

/**
 * Google's checks of a token request, in its order: grant type, client id, client secret, refresh
 * token present. Whether the refresh token is valid is the server's to say.
 */
export function checkTokenRequest(
  form: Record<string, string>,
  client: { id: string; secret: string },
): { refreshToken: string } | { status: number; refusal: unknown } {
  if (form.grant_type !== 'refresh_token') {
    const description = `Invalid grant_type: ${form.grant_type ?? ''}`;
    return { status: 400, refusal: oauthError('unsupported_grant_type', description) };
  }
  if (form.client_id !== client.id) {
    return {
      status: 401,
      refusal: oauthError('invalid_client', 'The OAuth client was not found.'),
    };
  }
  if (form.client_secret !== client.secret) {
    return { status: 401, refusal: oauthError('invalid_client', 'Unauthorized') };
  }
  const refreshToken = form.refresh_token;
  if (refreshToken === undefined || refreshToken === '') {
    const description = 'Missing required parameter: refresh_token';
    return { status: 400, refusal: oauthError('invalid_request', description) };
  }
  return { refreshToken };
}

/** Google's answer to a successful refresh. */
export function tokenAnswer(accessToken: string, lifetimeSeconds: number): unknown {
  return {
    access_token: accessToken,
    expires_in: lifetimeSeconds,
    scope: 'https://www.googleapis.com/auth/gmail.send',
    token_type: 'Bearer',
  };
}

/**
 * Gmail's checks of a `messages.send` body: `raw` present and base64 (standard or URL-safe, as
 * proto3 JSON accepts bytes), then recipients from the To, Cc and Bcc headers. A refusal is the
 * 400 body Gmail answers.
 */
export function readSendRequest(
  body: unknown,
): { bytes: Buffer; recipients: string[] } | { refusal: unknown } {
  const raw = (body as { raw?: unknown } | undefined)?.raw;
  if (typeof raw !== 'string' || raw === '') {
    const message =
      "'raw' RFC822 payload message string or uploading message via /upload/* URL required";
    return { refusal: googleApiError(400, { message }) };
  }
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(raw)) {
    const message = "Invalid value at 'message.raw' (TYPE_BYTES), Base64 decoding failed";
    return { refusal: googleApiError(400, { message }) };
  }
  const bytes = Buffer.from(raw, 'base64');
  const { headers } = parseHeaders(bytes);
  const names = ['To', 'Cc', 'Bcc'] as const;
  const lists = names.map((name) => headers.get(name));
  for (const [index, values] of lists.entries()) {
    if (values.some((value) => addressesOf(value).length === 0)) {
      return { refusal: googleApiError(400, { message: `Invalid ${names[index]} header` }) };
    }
  }
  const recipients = lists.flat().flatMap(addressesOf);
  if (recipients.length === 0) {
    return { refusal: googleApiError(400, { message: 'Recipient address required' }) };
  }
  return { bytes, recipients };
}
