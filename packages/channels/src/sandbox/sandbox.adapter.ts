import { z } from 'zod';
import type { Channel } from '@outbound/domain';
import {
  parseMessage,
  type ChannelAdapter,
  type ChannelMessage,
  type SendRequest,
  type SendResult,
} from '../channel-adapter.ts';
import { PermanentDeliveryError, RetryableDeliveryError } from '../delivery-errors.ts';

/** The sandbox needs no settings; whatever a sender carries is ignored. */
export const sandboxSettingsSchema = z.object({});

/** What the sandbox "delivered": one row of the sandbox outbox. */
export interface SandboxEntry {
  organizationId: string;
  senderId: string;
  channel: Channel;
  /** Chat id, email addresses (comma separated) or phone number. */
  recipient: string;
  deliveryId?: string;
  /** The rendered message: text, subject and bodies, media, attempt. */
  content: Record<string, unknown>;
}

/**
 * Where sandbox messages go (Postgres in the dispatcher). `record` stores one entry and
 * returns its id, which the sandbox hands back as the provider message id.
 */
export interface SandboxOutbox {
  record(entry: SandboxEntry): Promise<string>;
}

export interface SandboxAdapterOptions<C extends Channel> {
  channel: C;
  organizationId: string;
  senderId: string;
  outbox: SandboxOutbox;
}

/**
 * The default provider: records each message in the outbox instead of sending it. A recipient
 * whose name or address contains `fail` is rejected permanently; one containing `flaky` fails
 * its first attempt with a retryable error and succeeds after.
 */
export function createSandboxAdapter<C extends Channel>(
  options: SandboxAdapterOptions<C>,
): ChannelAdapter<C> {
  const { channel, organizationId, senderId, outbox } = options;

  async function send(request: SendRequest<C>): Promise<SendResult> {
    if (request.signal?.aborted === true) {
      throw new RetryableDeliveryError(
        'timeout',
        'sandbox: the send was aborted before it started',
      );
    }
    const message: ChannelMessage = parseMessage(channel, request.message);
    const names = recipientNames(message).map((name) => name.toLowerCase());
    if (names.some((name) => name.includes('fail'))) {
      throw new PermanentDeliveryError(
        'invalid_recipient',
        `sandbox: recipient ${recipientOf(message)} is rejected (its name or address contains "fail")`,
      );
    }
    if (request.attempt <= 1 && names.some((name) => name.includes('flaky'))) {
      throw new RetryableDeliveryError(
        'temporary_failure',
        `sandbox: recipient ${recipientOf(message)} is flaky and fails its first attempt`,
      );
    }
    const content: Record<string, unknown> = { ...message, attempt: request.attempt };
    delete content.channel;
    let id: string;
    try {
      id = await outbox.record({
        organizationId,
        senderId,
        channel,
        recipient: recipientOf(message),
        ...(request.deliveryId === undefined ? {} : { deliveryId: request.deliveryId }),
        content,
      });
    } catch (error) {
      throw new RetryableDeliveryError(
        'provider_unavailable',
        'sandbox: the outbox is unavailable',
        {
          cause: error,
        },
      );
    }
    return { providerMessageId: id };
  }

  return Object.freeze({ channel, provider: 'sandbox', send });
}

function recipientOf(message: ChannelMessage): string {
  switch (message.channel) {
    case 'whatsapp':
      return message.chatId;
    case 'email':
      return message.to.join(', ');
    case 'sms':
      return message.to;
  }
}

function recipientNames(message: ChannelMessage): string[] {
  const name = message.recipientName === undefined ? [] : [message.recipientName];
  switch (message.channel) {
    case 'whatsapp':
      return [...name, message.chatId];
    case 'email':
      return [...name, ...message.to, ...message.cc, ...message.bcc];
    case 'sms':
      return [...name, message.to];
  }
}
