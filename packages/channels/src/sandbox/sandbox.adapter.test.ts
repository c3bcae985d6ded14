import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Channel } from '@outbound/domain';
import { describeAdapterContract } from '../adapter-contract.ts';
import type { ChannelAdapter, MessageInputOf } from '../channel-adapter.ts';
import { PermanentDeliveryError, RetryableDeliveryError } from '../delivery-errors.ts';
import { createSandboxAdapter, type SandboxEntry, type SandboxOutbox } from './sandbox.adapter.ts';

/**
 * An in-memory outbox implementing the real interface; the dispatcher's tests run the sandbox
 * against its Postgres outbox.
 */
class MemoryOutbox implements SandboxOutbox {
  readonly entries = new Map<string, SandboxEntry>();

  record(entry: SandboxEntry): Promise<string> {
    const id = randomUUID();
    this.entries.set(id, entry);
    return Promise.resolve(id);
  }
}

const organizationId = randomUUID();
const senderId = randomUUID();

function sandbox<C extends Channel>(channel: C, outbox: SandboxOutbox): ChannelAdapter<C> {
  return createSandboxAdapter({ channel, organizationId, senderId, outbox });
}

const from = { address: 'outbound@example.com' };

const chat = (name: string) => ({
  channel: 'whatsapp' as const,
  chatId: `${name}@g.us`,
  text: 'hi',
});

/** A message to a recipient of each channel whose name or address contains `tag`. */
const MESSAGES: {
  [C in Channel]: (tag: string) => { message: MessageInputOf<C>; recipient: string };
} = {
  whatsapp: (tag) => ({ message: chat(tag), recipient: `${tag}@g.us` }),
  email: (tag) => ({
    message: { channel: 'email', from, to: [`${tag}@example.com`], subject: 'Hello', text: 'Hi' },
    recipient: `${tag}@example.com`,
  }),
  sms: (tag) => ({
    message: { channel: 'sms', to: '+14155550100', recipientName: tag, text: 'Hi' },
    recipient: '+14155550100',
  }),
};

function runContract<C extends Channel>(channel: C): void {
  const outbox = new MemoryOutbox();
  const adapter = sandbox(channel, outbox);
  const scenario = (tag: string) => {
    const { message, recipient } = MESSAGES[channel](tag);
    return Promise.resolve({ adapter, request: { message, attempt: 1 }, recipient });
  };
  describeAdapterContract(`sandbox ${channel}`, {
    channel,
    success: () => scenario(`ok-${randomUUID()}`),
    received: (id) => Promise.resolve(outbox.entries.get(id)),
    permanentFailure: () => scenario('will-fail'),
    retryableFailure: () => scenario(`flaky-${randomUUID()}`),
    timeout: { notApplicable: 'the sandbox answers from its own outbox and never waits' },
    retryAfter: { notApplicable: 'the sandbox never asks callers to come back later' },
  });
}

runContract('whatsapp');
runContract('email');
runContract('sms');

describe('sandbox adapter', () => {
  it('records the rendered message, recipient and delivery, and answers with the entry id', async () => {
    const outbox = new MemoryOutbox();
    const deliveryId = randomUUID();
    const media = [{ url: 'https://outbound.example/media/1.png', mimetype: 'image/png' }];
    const { providerMessageId } = await sandbox('whatsapp', outbox).send({
      message: { channel: 'whatsapp', chatId: '1203@g.us', text: 'Hello', media },
      attempt: 1,
      deliveryId,
    });
    expect(outbox.entries.get(providerMessageId)).toEqual({
      organizationId,
      senderId,
      channel: 'whatsapp',
      recipient: '1203@g.us',
      deliveryId,
      content: { chatId: '1203@g.us', text: 'Hello', media, attempt: 1 },
    });
  });

  it('rejects a recipient whose name contains "fail", whatever the case, and records nothing', async () => {
    const outbox = new MemoryOutbox();
    const send = sandbox('sms', outbox).send({
      message: { channel: 'sms', to: '+14155550100', recipientName: 'Will FAIL', text: 'hi' },
      attempt: 3,
    });
    await expect(send).rejects.toMatchObject({
      name: 'PermanentDeliveryError',
      code: 'invalid_recipient',
    });
    expect(outbox.entries.size).toBe(0);
  });

  it('rejects an email when any of to, cc or bcc contains "fail"', async () => {
    const outbox = new MemoryOutbox();
    const send = sandbox('email', outbox).send({
      message: {
        channel: 'email',
        from,
        to: ['ok@example.com'],
        bcc: ['fail@example.com'],
        subject: 'Hi',
      },
      attempt: 1,
    });
    await expect(send).rejects.toBeInstanceOf(PermanentDeliveryError);
    expect(outbox.entries.size).toBe(0);
  });

  it('fails a flaky recipient on its first attempt only', async () => {
    const outbox = new MemoryOutbox();
    const adapter = sandbox('email', outbox);
    const message = { channel: 'email' as const, from, to: ['flaky@example.com'], subject: 'Hi' };
    await expect(adapter.send({ message, attempt: 1 })).rejects.toBeInstanceOf(
      RetryableDeliveryError,
    );
    expect(outbox.entries.size).toBe(0);
    const { providerMessageId } = await adapter.send({ message, attempt: 2 });
    expect(outbox.entries.get(providerMessageId)).toMatchObject({
      recipient: 'flaky@example.com',
      content: { subject: 'Hi', cc: [], bcc: [], attachments: [], attempt: 2 },
    });
  });

  it('turns an outbox failure into a retryable error', async () => {
    const broken: SandboxOutbox = { record: () => Promise.reject(new Error('connection refused')) };
    await expect(
      sandbox('sms', broken).send({
        message: { channel: 'sms', to: '+4915112345678', text: 'x' },
        attempt: 1,
      }),
    ).rejects.toMatchObject({ name: 'RetryableDeliveryError', code: 'provider_unavailable' });
  });

  it('refuses a message of another channel', async () => {
    const adapter = sandbox('sms', new MemoryOutbox());
    await expect(
      adapter.send({ message: chat('group') as never, attempt: 1 }),
    ).rejects.toMatchObject({ code: 'invalid_message' });
  });
});
