import { emailDraftStatusSchema } from '@outbound/domain';
import { z } from 'zod';
import { pageSchema } from '../routing/pagination.ts';

/** Limits of `/api/email/drafts` that the reference leaves open. */
export const EMAIL_DRAFT_LIMITS = {
  /** Per list (`to`, `cc`, `bcc`). */
  addresses: 100,
  /** RFC 5321's longest path. */
  address: 254,
  /** RFC 5322's longest header line. */
  subject: 998,
  attachments: 100,
  filename: 255,
  contentType: 255,
  contextType: 100,
  pageDefault: 25,
  pageMax: 100,
} as const;

/**
 * `planned_send_at` lies in [2000-01-01T00:00:00Z, 9999-12-31T23:59:59.999Z]. A past time is
 * valid (sent at the next poll), but one before 2000 is a mistake (year 0000, a zero epoch), and
 * a time after 9999 could not be answered back as RFC 3339.
 */
export const PLANNED_SEND_AT_RANGE = {
  earliest: '2000-01-01T00:00:00.000Z',
  latest: '9999-12-31T23:59:59.999Z',
} as const;
const PLANNED_EARLIEST_MS = Date.parse(PLANNED_SEND_AT_RANGE.earliest);
const PLANNED_LATEST_MS = Date.parse(PLANNED_SEND_AT_RANGE.latest);

/** Postgres text cannot hold U+0000, so it is refused up front rather than with a 500. */
const withoutNul = (value: string): boolean => !value.includes('\u0000');
const oneLine = (value: string): boolean => !/[\r\n]/.test(value);

const quoted = (input: unknown): string => JSON.stringify(String(input).slice(0, 100));

/** A bare address (`name@example.com`), checked as the email adapters check it. */
const addressSchema = z
  .email({
    error: (issue) =>
      issue.code === 'invalid_type'
        ? undefined
        : `not a valid email address: ${quoted(issue.input)}`,
  })
  .max(EMAIL_DRAFT_LIMITS.address);

const addressListSchema = (field: string) =>
  z
    .array(addressSchema)
    .max(EMAIL_DRAFT_LIMITS.addresses)
    .meta({
      description:
        `${field} addresses, bare (\`name@example.com\`, no display name); at most ` +
        `${EMAIL_DRAFT_LIMITS.addresses}. Replaces the whole list on update; \`[]\` empties it.`,
    });

/** Why a filename could make a mail client or a file system misbehave, if it could. */
function filenameProblem(name: string): string | undefined {
  if (name.trim() === '') return 'filename must not be empty';
  if (/[/\\]/.test(name)) return `filename ${quoted(name)} must not contain a path separator`;
  if (name.includes('..')) return `filename ${quoted(name)} must not contain ".."`;
  // C0 and C1 controls, and the bidirectional overrides that disguise an extension.
  if (/[\p{Cc}\u202a-\u202e\u2066-\u2069]/u.test(name)) {
    return `filename ${quoted(name)} must not contain control characters`;
  }
  return undefined;
}

/** `type/subtype` with optional parameters, as the email adapters accept it. */
const MIME_TYPE =
  /^[\w!#$&^.+-]+\/[\w!#$&^.+-]+(?:\s*;\s*[\w!#$&^.+-]+=(?:[\w!#$&^.+-]+|"[^"\r\n]*"))*$/;

const attachmentInputSchema = z
  .strictObject({
    filename: z
      .string()
      .max(EMAIL_DRAFT_LIMITS.filename)
      .superRefine((name, context) => {
        const problem = filenameProblem(name);
        if (problem !== undefined) context.addIssue({ code: 'custom', message: problem });
      })
      .meta({ description: 'A plain file name: no path separators, `..` or control characters.' }),
    content_type: z
      .string()
      .max(EMAIL_DRAFT_LIMITS.contentType)
      .regex(MIME_TYPE, 'content_type must be a MIME type such as application/pdf'),
    data_base64: z
      .base64('data_base64 is not valid base64 (RFC 4648, padded, no line breaks)')
      .meta({ description: 'The file, standard padded base64.' }),
  })
  .meta({ id: 'EmailDraftAttachmentInput' });

const optionalBody = (description: string) =>
  z
    .string()
    .refine(withoutNul, 'must not contain U+0000')
    .nullable()
    .optional()
    .meta({ description });

/**
 * The body of `POST /api/email/drafts`: a create without `uid` (`from_account_id` required),
 * an update with it (only the given fields change; `null` clears a field). Unknown fields are
 * refused (400 naming them).
 */
export const emailDraftRequestSchema = z
  .strictObject({
    uid: z.uuid().optional().meta({ description: 'The draft to update; omit to create one.' }),
    from_account_id: z
      .uuid()
      .optional()
      .meta({
        description:
          'An email account (sender) of the organization that sends this email. Required to ' +
          'create; on update it may change to another email account.',
      }),
    to: addressListSchema('To').optional(),
    cc: addressListSchema('Cc').optional(),
    bcc: addressListSchema('Bcc').optional(),
    subject: z
      .string()
      .max(EMAIL_DRAFT_LIMITS.subject)
      .refine(oneLine, 'subject must not contain line breaks (CR or LF): it becomes a header')
      .refine(withoutNul, 'subject must not contain U+0000')
      .nullable()
      .optional(),
    body_text: optionalBody('The plain text body.'),
    body_html: optionalBody('The HTML body, stored and sent unchanged.'),
    attachments: z
      .array(attachmentInputSchema)
      .max(EMAIL_DRAFT_LIMITS.attachments)
      .optional()
      .meta({
        description:
          'Files to send with the email; replaces all of them on update (`[]` removes them). ' +
          'Their decoded total may not exceed `EMAIL_MAX_ATTACHMENT_BYTES` (25 MB by ' +
          'default): 413 otherwise.',
      }),
    context_type: z
      .string()
      .min(1)
      .max(EMAIL_DRAFT_LIMITS.contextType)
      .refine(withoutNul, 'context_type must not contain U+0000')
      .nullable()
      .optional()
      .meta({ description: 'What kind of entity the draft belongs to, e.g. `invoice`.' }),
    context_id: z.uuid().nullable().optional(),
    planned_send_at: z.iso
      .datetime({ offset: true })
      .refine((value) => {
        const at = Date.parse(value);
        return at >= PLANNED_EARLIEST_MS && at <= PLANNED_LATEST_MS;
      }, `planned_send_at must fall between ${PLANNED_SEND_AT_RANGE.earliest} and ${PLANNED_SEND_AT_RANGE.latest}`)
      .nullable()
      .optional()
      .meta({
        description:
          'RFC 3339 time at which the draft is sent by the dispatcher (a past time: at its ' +
          'next poll), from 2000-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z. Moving it ' +
          'reschedules the draft; `null` unschedules it.',
      }),
  })
  .refine((body) => body.uid !== undefined || body.from_account_id !== undefined, {
    path: ['from_account_id'],
    message: 'from_account_id is required to create a draft (a request without uid)',
    when: (payload) => typeof payload.value === 'object' && payload.value !== null,
  })
  .meta({ id: 'EmailDraftRequest' });

export type EmailDraftRequest = z.output<typeof emailDraftRequestSchema>;

const attachmentSchema = z
  .object({
    id: z.uuid(),
    filename: z.string(),
    content_type: z.string(),
    size_bytes: z.int().nonnegative(),
  })
  .meta({
    id: 'EmailDraftAttachment',
    description: 'What the draft keeps of a file: never its bytes.',
  });

/** A draft as every email drafts route answers it: the reference's record, and more. */
export const emailDraftSchema = z
  .object({
    uid: z.uuid(),
    from_account_id: z.uuid(),
    from_email: z.string().nullable().meta({ description: "The account's address." }),
    to: z.array(z.string()),
    cc: z.array(z.string()),
    bcc: z.array(z.string()),
    subject: z.string().nullable(),
    body_text: z.string().nullable(),
    body_html: z.string().nullable(),
    context_type: z.string().nullable(),
    context_id: z.uuid().nullable(),
    planned_send_at: z.iso.datetime().nullable(),
    status: emailDraftStatusSchema.meta({
      description:
        '`draft`; `scheduled` while it has a `planned_send_at` and is not yet dispatched; ' +
        'then its delivery: `sending` (queued, being sent or waiting to retry), `sent`, ' +
        '`failed` (see `error`) or `canceled`. A draft that came due but could not be sent ' +
        'is `failed` without `send_id`.',
    }),
    created_at: z.iso.datetime(),
    updated_at: z.iso.datetime(),
    attachments: z.array(attachmentSchema),
    send_id: z.uuid().nullable().meta({ description: 'The send made when it was dispatched.' }),
    provider_message_id: z.string().nullable().meta({ description: 'Once sent.' }),
    error: z
      .object({ code: z.string(), message: z.string() })
      .nullable()
      .meta({ description: 'Why it failed; only when `status` is `failed`.' }),
  })
  .meta({ id: 'EmailDraft' });

export type EmailDraftResponse = z.input<typeof emailDraftSchema>;

/** `GET /api/email/drafts`: one page of the organization's drafts. */
export const emailDraftListSchema = pageSchema(emailDraftSchema, 'EmailDraftList');

export const emailDraftListQuerySchema = z.strictObject({
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(EMAIL_DRAFT_LIMITS.pageMax)
    .default(EMAIL_DRAFT_LIMITS.pageDefault)
    .meta({ description: 'Drafts per page: 1–100, 25 by default.' }),
  cursor: z.string().min(1).max(512).optional().meta({
    description: 'Opaque: the `next_cursor` of the previous page, asked with the same filters.',
  }),
  status: emailDraftStatusSchema.optional(),
  context_type: z.string().min(1).max(EMAIL_DRAFT_LIMITS.contextType).optional(),
  context_id: z.uuid().optional(),
});

export const emailDraftParamsSchema = z.object({ uid: z.uuid() });
