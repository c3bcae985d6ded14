import { type ChannelMessage, PermanentDeliveryError } from '@outbound/channels';
import { type DeliveryForSending, whatsappSendContentSchema } from '@outbound/db';
import { PermanentDispatchError } from './dispatch-errors.ts';

/**
 * The message one recipient of a send gets, in its channel's shape. WhatsApp: the chat id is
 * the delivery's recipient, the send's text, its stored media by Outbound's own URLs.
 */
export function deliveryMessage(loaded: DeliveryForSending): ChannelMessage {
  const { send, delivery, groupName } = loaded;
  switch (send.channel) {
    case 'whatsapp': {
      const content = whatsappSendContentSchema.safeParse(send.content);
      if (!content.success) {
        throw new PermanentDeliveryError(
          'invalid_message',
          `send ${send.id} does not hold WhatsApp content`,
        );
      }
      const { text, media } = content.data;
      return {
        channel: 'whatsapp',
        chatId: delivery.recipient,
        ...(groupName === null || groupName === ''
          ? {}
          : { recipientName: groupName.slice(0, 256) }),
        ...(text === null || text === '' ? {} : { text }),
        media: media.map((item) => ({
          url: item.url,
          mimetype: item.mimetype,
          ...(item.filename === null ? {} : { filename: item.filename }),
        })),
      };
    }
    case 'email':
      // Email needs its attachments read from Postgres: see `emailDeliveryMessage`.
      throw new PermanentDispatchError(
        'channel_not_supported',
        `send ${send.id} is an email send; build it with emailDeliveryMessage`,
      );
    case 'sms':
      throw new PermanentDispatchError(
        'channel_not_supported',
        `the dispatcher does not deliver ${send.channel} sends yet`,
      );
  }
}
