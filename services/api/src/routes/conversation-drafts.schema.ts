import { z } from 'zod';
import { pageSchema } from '../routing/pagination.ts';
import { integerIdParam, integerIdSchema } from '../conversations/conversation-ids.ts';

/** Limits of `/v3/conversations/{conversation_id}/drafts`: the title's from the reference. */
export const CONVERSATION_DRAFT_LIMITS = {
  title: 250,
  content: 100_000,
  email: 254,
  pageDefault: 25,
  pageMax: 100,
} as const;

/** Postgres text and jsonb cannot hold U+0000, so it is refused up front rather than with a 500. */
const withoutNul = (value: string): boolean => !value.includes('\u0000');

/** Characters as Postgres counts them (code points), so the table's CHECK never fires first. */
const codePoints = (value: string): number => [...value].length;

const agentEmailSchema = (description: string) =>
  z
    .email()
    .max(CONVERSATION_DRAFT_LIMITS.email)
    .nullish()
    .meta({
      description:
        `${description} Compared without regard to case; when given with the id, both must ` +
        'name the same agent (400 otherwise).',
    });

/**
 * The body of `POST /v3/conversations/{conversation_id}/drafts`, as the reference has it.
 * `null` counts as absent. Unknown fields are refused (400 naming them). "One of `author_id`
 * and `author_email`" spans fields, so the route checks it.
 */
export const conversationDraftRequestSchema = z
  .strictObject({
    content: z
      .string()
      .max(CONVERSATION_DRAFT_LIMITS.content)
      .refine(withoutNul, 'content must not contain U+0000')
      .meta({
        description:
          'Content of the draft (required). Answered back as `content.content`, at most ' +
          `${CONVERSATION_DRAFT_LIMITS.content} characters.`,
      }),
    author_id: integerIdSchema.nullish().meta({
      description: 'ID of the agent authoring the draft (optional if author_email is provided).',
    }),
    author_email: agentEmailSchema(
      'Email of the agent authoring the draft (optional if author_id is provided).',
    ),
    target_id: integerIdSchema.nullish().meta({
      description: 'ID of the agent the draft is targeted to (optional; absent means everyone).',
    }),
    target_email: agentEmailSchema('Email of the agent the draft is targeted to (optional).'),
    title: z
      .string()
      .refine(
        (title) => codePoints(title) <= CONVERSATION_DRAFT_LIMITS.title,
        `title must be at most ${CONVERSATION_DRAFT_LIMITS.title} characters`,
      )
      .refine(withoutNul, 'title must not contain U+0000')
      .nullish()
      .meta({
        description: 'Title of the draft (optional).',
        maxLength: CONVERSATION_DRAFT_LIMITS.title,
      }),
  })
  .meta({
    id: 'ConversationDraftRequest',
    description:
      'Give the author by `author_id` or `author_email` (at least one), and optionally a ' +
      'target by `target_id` or `target_email`; each must be an agent of your organization.',
  });

export type ConversationDraftRequest = z.output<typeof conversationDraftRequestSchema>;

/** The draft's content object, as the reference describes it; Outbound fills in `content`. */
const conversationDraftContentSchema = z
  .object({
    content: z.string().meta({ description: 'The draft text, as given.' }),
    'message-id': z.string().optional(),
    attachments: z
      .array(z.object({ type: z.string(), name: z.string(), content: z.string() }))
      .optional(),
    inlines: z
      .array(z.object({ type: z.string(), name: z.string(), content: z.string(), cid: z.string() }))
      .optional(),
    actions: z
      .array(
        z.object({
          name: z.string(),
          snippet_id: z.int(),
          data: z.record(z.string(), z.unknown()),
        }),
      )
      .optional(),
  })
  .meta({
    id: 'ConversationDraftContent',
    description: 'JSON object containing the draft content and metadata.',
  });

/** A draft as every conversation-draft and response-draft route answers it. */
export const conversationDraftSchema = z
  .object({
    created: z.iso.datetime().meta({ description: 'When the draft was created (UTC).' }),
    last_updated: z.iso.datetime().meta({ description: 'When the draft was last updated (UTC).' }),
    conversation_id: z.int().meta({ description: 'Conversation ID this draft belongs to.' }),
    id: z.int().meta({ description: 'Unique identifier for the draft.' }),
    title: z.string().nullable().meta({
      description: 'Optional title for the draft.',
      maxLength: CONVERSATION_DRAFT_LIMITS.title,
    }),
    content: conversationDraftContentSchema,
    author_id: z.int().nullable().meta({ description: 'Agent ID who created the draft.' }),
    target_id: z.int().nullable().meta({
      description: 'Agent ID to whom the draft is targeted (null means everyone).',
    }),
  })
  .meta({ id: 'ConversationDraft' });

export type ConversationDraftResponse = z.input<typeof conversationDraftSchema>;

/** `GET /v3/conversations/{conversation_id}/drafts`: one page of a conversation's drafts. */
export const conversationDraftListSchema = pageSchema(
  conversationDraftSchema,
  'ConversationDraftList',
);

export const conversationDraftListQuerySchema = z.strictObject({
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(CONVERSATION_DRAFT_LIMITS.pageMax)
    .default(CONVERSATION_DRAFT_LIMITS.pageDefault)
    .meta({ description: 'Drafts per page: 1–100, 25 by default.' }),
  cursor: z.string().min(1).max(512).optional().meta({
    description: 'Opaque: the `next_cursor` of the previous page of the same conversation.',
  }),
});

const conversationIdParam = integerIdParam('ID of the conversation.');

export const conversationParamsSchema = z.object({ conversation_id: conversationIdParam });

export const conversationDraftParamsSchema = z.object({
  conversation_id: conversationIdParam,
  draft_id: integerIdParam('ID of the draft.'),
});
