import { modalitySchema } from '@outbound/domain';
import { z } from 'zod';

const conversationMessageSchema = z
  .object({
    id: z.int(),
    direction: z.enum(['outbound', 'inbound']),
    subject: z.string().nullable(),
    body_html: z.string().nullable(),
    send_id: z
      .uuid()
      .nullable()
      .meta({ description: 'The send that carries an outbound message.' }),
    created: z.iso.datetime(),
  })
  .meta({ id: 'ConversationMessage' });

/** `GET /v3/conversations/{conversation_id}`: the conversation and its messages, oldest first. */
export const conversationSchema = z
  .object({
    id: z.int(),
    modality: modalitySchema,
    subject: z.string().nullable(),
    recipient_name: z.string().nullable(),
    recipient_email: z.string().nullable(),
    recipient_phone_number: z.string().nullable(),
    created: z.iso.datetime(),
    last_updated: z.iso.datetime().meta({ description: 'Moves with every new message.' }),
    messages: z.array(conversationMessageSchema),
  })
  .meta({ id: 'Conversation' });

export type ConversationResponse = z.input<typeof conversationSchema>;
