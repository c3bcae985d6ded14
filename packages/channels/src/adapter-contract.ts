import { describe, expect, it } from 'vitest';
import type { Channel } from '@outbound/domain';
import type { ChannelAdapter, MessageInputOf, SendRequest } from './channel-adapter.ts';
import { PermanentDeliveryError, RetryableDeliveryError } from './delivery-errors.ts';

/** One arranged call: an adapter, and a request its provider will answer as the case says. */
export interface ContractScenario<C extends Channel> {
  adapter: ChannelAdapter<C>;
  request: SendRequest<C>;
}

/** Says why a case cannot happen with this provider; the suite then has no test for it. */
export interface NotApplicable {
  notApplicable: string;
}

/**
 * What an adapter's test supplies to run the contract. Each function arranges its case (a
 * recipient the provider rejects, a fake server told to answer 503 first...) and returns a
 * fresh scenario. Every case must be answered, if only with `NotApplicable` and a reason.
 */
export interface AdapterContractSubject<C extends Channel> {
  channel: C;
  /** The provider accepts the message; `recipient` is how `received` will name its recipient. */
  success(): Promise<ContractScenario<C> & { recipient: string }>;
  /**
   * What the provider holds for an accepted message, to prove it arrived; `recipient` as the
   * provider names it (chat id, address, number). Undefined when it holds nothing.
   */
  received(providerMessageId: string): Promise<{ recipient: string } | undefined>;
  /** The provider refuses the message for good (invalid recipient, 4xx). */
  permanentFailure(): Promise<ContractScenario<C>>;
  /** The provider fails this attempt transiently (5xx, connection) and accepts the next one. */
  retryableFailure(): Promise<ContractScenario<C>>;
  /** The provider does not answer in time; the adapter must give up with a retryable `timeout`. */
  timeout: (() => Promise<ContractScenario<C>>) | NotApplicable;
  /** The provider answers 429 or 503 with `Retry-After`; `retryAfterMs` is what it asked for. */
  retryAfter: (() => Promise<ContractScenario<C> & { retryAfterMs: number }>) | NotApplicable;
  /**
   * The credentials the scenarios' adapters hold (api keys, passwords, client secrets, refresh
   * tokens). None may appear in any rejection: its message, its enumerable fields, or those of
   * its causes, since all of them can reach a log line.
   */
  secrets?: readonly string[];
}

/** A message each channel's schema refuses, for the `invalid_message` case. */
const INVALID_MESSAGES: { [C in Channel]: MessageInputOf<C> } = {
  whatsapp: { channel: 'whatsapp', chatId: '' },
  email: {
    channel: 'email',
    from: { address: 'sender@example.com' },
    to: ['not an address'],
    subject: 'hello',
  },
  sms: { channel: 'sms', to: '0800 not e164', text: 'hello' },
};

async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the send to be rejected, but it resolved');
}

/** Everything of an error a logger may print: messages and string fields, causes included. */
function loggableText(error: unknown, depth = 0): string {
  if (depth > 5 || typeof error !== 'object' || error === null) return String(error);
  const parts: string[] = [];
  if (error instanceof Error) parts.push(error.message);
  for (const [key, value] of Object.entries(error)) {
    if (key === 'cause') continue;
    parts.push(typeof value === 'object' ? loggableText(value, depth + 1) : String(value));
  }
  const cause: unknown = (error as { cause?: unknown }).cause;
  if (cause !== undefined) parts.push(loggableText(cause, depth + 1));
  return parts.join('\n');
}

/**
 * The contract every channel adapter passes (the way BullMQ runs one conformance suite against
 * every backend). Call it inside a test file: `describeAdapterContract('sandbox', subject)`.
 */
export function describeAdapterContract<C extends Channel>(
  name: string,
  subject: AdapterContractSubject<C>,
): void {
  describe(`${name} adapter contract`, () => {
    const secrets = subject.secrets ?? [];
    /** The rejection of `promise`, checked to carry no credential. */
    const rejection = async (promise: Promise<unknown>) => {
      const error = await rejectionOf(promise);
      const text = loggableText(error);
      for (const secret of secrets) expect(text).not.toContain(secret);
      return error;
    };

    it('declares its channel', async () => {
      const { adapter } = await subject.success();
      expect(adapter.channel).toBe(subject.channel);
    });

    it('answers a successful send with a provider message id, and the provider has it', async () => {
      const scenario = await subject.success();
      const result = await scenario.adapter.send(scenario.request);
      expect(typeof result.providerMessageId).toBe('string');
      expect(result.providerMessageId).not.toBe('');
      expect(await subject.received(result.providerMessageId)).toMatchObject({
        recipient: scenario.recipient,
      });
    });

    it('gives two sends two provider message ids', async () => {
      const first = await subject.success();
      const second = await subject.success();
      const a = await first.adapter.send(first.request);
      const b = await second.adapter.send(second.request);
      expect(a.providerMessageId).not.toBe(b.providerMessageId);
    });

    it('rejects a permanent failure with a PermanentDeliveryError', async () => {
      const { adapter, request } = await subject.permanentFailure();
      const error = await rejection(adapter.send(request));
      expect(error).toBeInstanceOf(PermanentDeliveryError);
      expect(error).not.toBeInstanceOf(RetryableDeliveryError);
      expect((error as PermanentDeliveryError).code).toMatch(/^[a-z_]+$/);
    });

    it('rejects a transient failure with a RetryableDeliveryError, and the retry succeeds', async () => {
      const { adapter, request } = await subject.retryableFailure();
      const error = await rejection(adapter.send(request));
      expect(error).toBeInstanceOf(RetryableDeliveryError);
      expect(error).not.toBeInstanceOf(PermanentDeliveryError);
      const retried = await adapter.send({ ...request, attempt: request.attempt + 1 });
      expect(retried.providerMessageId).not.toBe('');
      expect(await subject.received(retried.providerMessageId)).toBeDefined();
    });

    it('refuses a malformed message as a permanent invalid_message', async () => {
      const { adapter, request } = await subject.success();
      const error = await rejection(
        adapter.send({ ...request, message: INVALID_MESSAGES[subject.channel] }),
      );
      expect(error).toBeInstanceOf(PermanentDeliveryError);
      expect((error as PermanentDeliveryError).code).toBe('invalid_message');
    });

    const { timeout, retryAfter } = subject;
    if (typeof timeout === 'function') {
      it('gives up on a provider that does not answer with a retryable timeout', async () => {
        const { adapter, request } = await timeout();
        const error = await rejection(adapter.send(request));
        expect(error).toBeInstanceOf(RetryableDeliveryError);
        expect((error as RetryableDeliveryError).code).toBe('timeout');
      });
    }
    if (typeof retryAfter === 'function') {
      it("passes on the provider's Retry-After", async () => {
        const { adapter, request, retryAfterMs } = await retryAfter();
        const error = await rejection(adapter.send(request));
        expect(error).toBeInstanceOf(RetryableDeliveryError);
        expect((error as RetryableDeliveryError).retryAfterMs).toBe(retryAfterMs);
      });
    }
  });
}
