import { describe, expect, it } from 'vitest';
import { PermanentDeliveryError } from '@outbound/channels';
import type { DeliveryForSending } from '@outbound/db';
import { PermanentDispatchError } from './dispatch-errors.ts';
import { deliveryMessage } from './delivery-message.ts';

const media = {
  media_object_id: '0198e3c4-0000-7000-8000-000000000001',
  url: 'https://outbound.example/media/0198e3c4.png',
  mimetype: 'image/png',
  filename: 'chart.png',
  sha256: 'a'.repeat(64),
  size_bytes: 10,
  storage_key: 'outbound/org/1-chart.png',
  source_url: 'https://caller.example/chart.png',
};

function loaded(
  content: Record<string, unknown>,
  options: { channel?: 'whatsapp' | 'email'; groupName?: string | null } = {},
): DeliveryForSending {
  return {
    delivery: { id: 'd', recipient: '120363@g.us' },
    send: { id: 's', channel: options.channel ?? 'whatsapp', status: 'queued', content },
    groupName: options.groupName ?? null,
  } as unknown as DeliveryForSending;
}

describe('delivery message', () => {
  it("sends a WhatsApp send's text and stored media to the delivery's chat id", () => {
    expect(deliveryMessage(loaded({ text: 'Hi', media: [media] }, { groupName: 'Team' }))).toEqual({
      channel: 'whatsapp',
      chatId: '120363@g.us',
      recipientName: 'Team',
      text: 'Hi',
      media: [{ url: media.url, mimetype: 'image/png', filename: 'chart.png' }],
    });
  });

  it('leaves out empty text, a missing filename and a nameless group', () => {
    const message = deliveryMessage(loaded({ text: null, media: [{ ...media, filename: null }] }));
    expect(message).toEqual({
      channel: 'whatsapp',
      chatId: '120363@g.us',
      media: [{ url: media.url, mimetype: 'image/png' }],
    });
  });

  it('refuses content that is not a WhatsApp content, and channels not delivered yet', () => {
    expect(() => deliveryMessage(loaded({ body: 'x' }))).toThrow(PermanentDeliveryError);
    expect(() => deliveryMessage(loaded({}, { channel: 'email' }))).toThrow(PermanentDispatchError);
  });
});
