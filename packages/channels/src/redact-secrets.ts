import type { Channel } from '@outbound/domain';
import type { ChannelAdapter, SendRequest, SendResult } from './channel-adapter.ts';

/** What a secret becomes in an error message. */
export const REDACTED = '[redacted]';

/** Shorter strings are left alone: redacting "a" or "pass" would garble every message. */
const MIN_SECRET_LENGTH = 6;

/** How many errors of a cause chain are rewritten; a chain is never this long. */
const MAX_CAUSES = 10;

/**
 * The token of an `Authorization` value a provider echoes (Basic or Bearer): whatever it is, it
 * is a credential, including ones no sender stores (a Gmail access token).
 */
const AUTHORIZATION_TOKEN = /\b(Basic|Bearer)(\s+)[\w+/=.~-]{8,}/gi;

/**
 * Every string in a sender's opened credentials, as a provider may echo it: raw, URL-encoded
 * and JSON-escaped.
 */
export function secretsOf(credentials: unknown): string[] {
  const found = new Set<string>();
  const visit = (value: unknown): void => {
    if (typeof value === 'string') {
      if (value.length < MIN_SECRET_LENGTH) return;
      found.add(value);
      found.add(encodeURIComponent(value));
      found.add(JSON.stringify(value).slice(1, -1));
    } else if (Array.isArray(value)) {
      value.forEach(visit);
    } else if (typeof value === 'object' && value !== null) {
      Object.values(value).forEach(visit);
    }
  };
  visit(credentials);
  // The longest first, so that a secret containing another is replaced whole.
  return [...found].sort((a, b) => b.length - a.length);
}

/** `text` with every secret and every Authorization token replaced by `[redacted]`. */
export function redactText(text: string, secrets: readonly string[]): string {
  let redacted = text.replace(AUTHORIZATION_TOKEN, `$1$2${REDACTED}`);
  for (const secret of secrets) redacted = redacted.replaceAll(secret, REDACTED);
  return redacted;
}

/**
 * Rewrites, in place, the message and stack of `error` and of each error in its cause chain.
 * In place, so that the error keeps its class, code, Retry-After and the causes' codes, which
 * the dispatcher reads to classify the failure.
 */
export function redactError(error: unknown, secrets: readonly string[]): void {
  let current = error;
  for (let depth = 0; current instanceof Error && depth < MAX_CAUSES; depth += 1) {
    rewrite(current, 'message', secrets);
    rewrite(current, 'stack', secrets);
    current = current.cause;
  }
}

/**
 * Defines rather than assigns: some errors (a DOMException from an aborted fetch) have their
 * message as a getter on the prototype, which an own property shadows.
 */
function rewrite(error: Error, key: 'message' | 'stack', secrets: readonly string[]): void {
  const text = error[key];
  if (typeof text !== 'string') return;
  const redacted = redactText(text, secrets);
  if (redacted === text) return;
  Object.defineProperty(error, key, {
    value: redacted,
    writable: true,
    configurable: true,
    enumerable: false,
  });
}

/**
 * The adapter, with every error its `send` throws scrubbed of the sender's credentials before
 * anyone sees it. Providers echo what they were sent (a 401 naming the api key, a proxy page
 * quoting the Authorization header), and a delivery error is kept in Postgres, in BullMQ's job
 * hash and in logs. Leaves out what the adapter did not throw.
 */
export function withRedactedErrors<C extends Channel>(
  adapter: ChannelAdapter<C>,
  secrets: readonly string[],
): ChannelAdapter<C> {
  return Object.freeze({
    channel: adapter.channel,
    provider: adapter.provider,
    async send(request: SendRequest<C>): Promise<SendResult> {
      try {
        return await adapter.send(request);
      } catch (error) {
        redactError(error, secrets);
        throw error;
      }
    },
  });
}
