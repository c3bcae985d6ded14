import { z } from 'zod';
import { pageSchema } from '../routing/pagination.ts';
import { MEDIA_MIMETYPES } from './sends.schema.ts';

/** Limits of `/v2/outbound/drafts`, from the reference. */
export const DRAFT_LIMITS = {
  groups: 100,
  text: 4_096,
  media: 10,
  url: 2_048,
  filename: 255,
  pageDefault: 25,
  pageMax: 100,
} as const;

/** Postgres text and jsonb cannot hold U+0000, so it is refused up front rather than with a 500. */
const withoutNul = (value: string): boolean => !value.includes('\u0000');

const mediaItemSchema = z
  .strictObject({
    url: z
      .url({ protocol: /^https?$/ })
      .max(DRAFT_LIMITS.url)
      .meta({
        description:
          'URL of an already-uploaded image. Never fetched by a draft save. When it is one of ' +
          "Outbound's own signed media URLs, the draft also gets the object's `sha256`, " +
          '`size_bytes` and `storage_key`.',
      }),
    mimetype: z.enum(MEDIA_MIMETYPES),
    filename: z
      .string()
      .min(1)
      .max(DRAFT_LIMITS.filename)
      .refine(withoutNul, 'filename must not contain U+0000')
      .optional(),
  })
  .meta({ id: 'WhatsappDraftMediaInput' });

const groupIdsSchema = z
  .array(z.uuid())
  .max(DRAFT_LIMITS.groups)
  .superRefine((ids, context) => {
    const seen = new Set<string>();
    const repeated = new Set<string>();
    for (const id of ids) (seen.has(id) ? repeated : seen).add(id);
    if (repeated.size > 0) {
      context.addIssue({
        code: 'custom',
        message: `group_ids must be unique; repeated: ${[...repeated].join(', ')}`,
        params: { repeated: [...repeated] },
      });
    }
  })
  .meta({
    description:
      'Internal group ids from /v2/groups that are present in the selected sending session; ' +
      'at most 100, each at most once. May be empty while composing.',
  });

/** A draft's schedule: checked for shape and stored as given; saving a draft runs nothing. */
export const draftScheduleSchema = z
  .strictObject({
    first_run_at_ms: z.int().nonnegative().meta({ description: 'Epoch milliseconds.' }),
    interval_ms: z.int().positive().optional(),
    max_occurrences: z.int().min(1).optional(),
  })
  .meta({
    id: 'WhatsappDraftSchedule',
    example: { first_run_at_ms: 1777809600000, interval_ms: 3600000, max_occurrences: 3 },
  });

/**
 * The body of `POST /v2/outbound/drafts` and `PUT /v2/outbound/drafts/{draft_id}`. Unknown
 * fields are refused (400 naming them), as for sends.
 */
export const draftRequestSchema = z
  .strictObject({
    session_id: z.uuid().meta({
      description:
        'Sending session id this draft belongs to. A caller can create multiple drafts for the ' +
        'same sending session. Receiving sessions are refused (409).',
    }),
    group_ids: groupIdsSchema.optional(),
    text: z
      .string()
      .max(DRAFT_LIMITS.text)
      .refine(withoutNul, 'text must not contain U+0000')
      .optional()
      .meta({ description: 'Draft text body, or image caption when media is present.' }),
    media: z
      .array(mediaItemSchema)
      .max(DRAFT_LIMITS.media)
      .optional()
      .meta({
        description:
          'Already-uploaded image media URLs to keep with the draft. Multipart local files are ' +
          'not accepted by draft saves.',
      }),
    schedule: draftScheduleSchema.optional(),
  })
  .meta({
    id: 'WhatsappDraftRequest',
    description: 'Unknown fields are rejected with 400 `validation_failed` naming them.',
  });

export type DraftRequest = z.output<typeof draftRequestSchema>;

const draftMediaSchema = z
  .object({
    url: z.string(),
    mimetype: z.string(),
    filename: z.string().optional(),
    sha256: z.string().optional().meta({ description: 'Only for Outbound media URLs.' }),
    size_bytes: z.int().nonnegative().optional().meta({ description: 'Only for Outbound media.' }),
    storage_key: z.string().optional().meta({ description: 'Only for Outbound media URLs.' }),
  })
  .meta({ id: 'WhatsappDraftMedia' });

/** A draft as every drafts route answers it, as the reference shows it. */
export const draftSchema = z
  .object({
    id: z.uuid(),
    actor_user_id: z.string().meta({
      description: 'User id that owns this draft. Only this actor can read, change or delete it.',
    }),
    session_id: z.uuid(),
    session_name: z.string(),
    session_label: z.string(),
    group_ids: z.array(z.uuid()),
    text: z.string().meta({ description: 'Empty when the draft has no text.' }),
    media: z.array(draftMediaSchema),
    created_at_ms: z.int(),
    updated_at_ms: z.int(),
    schedule: draftScheduleSchema.optional().meta({
      description: 'As saved; absent when the draft has no schedule.',
    }),
  })
  .meta({ id: 'WhatsappDraft' });

export type DraftResponse = z.input<typeof draftSchema>;

/** `GET /v2/outbound/drafts`: one page of the caller's drafts. */
export const draftListSchema = pageSchema(draftSchema, 'WhatsappDraftList');

export const draftListQuerySchema = z.strictObject({
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(DRAFT_LIMITS.pageMax)
    .default(DRAFT_LIMITS.pageDefault)
    .meta({ description: 'Drafts per page: 1–100, 25 by default.' }),
  cursor: z.string().min(1).max(512).optional().meta({
    description:
      'Opaque: the `next_cursor` of the previous page, asked with the same `session_id`.',
  }),
  session_id: z.uuid().optional().meta({
    description: 'Only drafts of this session (a 404 when it is not one of yours).',
  }),
});

export const draftParamsSchema = z.object({ draft_id: z.uuid() });
