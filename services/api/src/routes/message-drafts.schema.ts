import { messageDraftStatusSchema, modalitySchema } from '@outbound/domain';
import { z } from 'zod';
import { pageSchema } from '../routing/pagination.ts';
import { endBound, startBound } from '../message-drafts/date-bounds.ts';
import { normalizeFolder } from '../message-drafts/folder.ts';
import { toE164 } from '../message-drafts/phone-number.ts';

/** Limits of the message drafts routes that the reference leaves open. */
export const MESSAGE_DRAFT_LIMITS = {
  /** RFC 5321's longest path. */
  address: 254,
  /** Per list (`cc_emails`, `bcc_emails`). */
  addresses: 100,
  /** RFC 5322's longest header line. */
  subject: 998,
  /** What a channel accepts as a recipient's display name. */
  name: 256,
  phone: 64,
  folder: 100,
  pageDefault: 25,
  pageMax: 100,
} as const;

/** Postgres text cannot hold U+0000, so it is refused up front rather than with a 500. */
const withoutNul = (value: string): boolean => !value.includes('\u0000');
const oneLine = (value: string): boolean => !/[\r\n]/.test(value);
const quoted = (input: unknown): string => JSON.stringify(String(input).slice(0, 100));
/** Blank text (empty, or only white space) counts as not given. */
export const isBlank = (value: string | null | undefined): boolean =>
  value === undefined || value === null || value.trim() === '';

const addressSchema = z
  .email({
    error: (issue) =>
      issue.code === 'invalid_type'
        ? undefined
        : `not a valid email address: ${quoted(issue.input)}`,
  })
  .max(MESSAGE_DRAFT_LIMITS.address);

const addressListSchema = (field: string) =>
  z
    .array(addressSchema)
    .max(MESSAGE_DRAFT_LIMITS.addresses)
    .nullable()
    .optional()
    .meta({
      description:
        `${field} addresses, bare (\`name@example.com\`); at most ` +
        `${MESSAGE_DRAFT_LIMITS.addresses}. Email drafts only: a text draft takes none.`,
    });

/**
 * The body of `POST /api/v2/organizations/{organization_id}/message-drafts`, field by field
 * as the reference has it. Unknown fields are refused (400 naming them).
 */
export const messageDraftRequestSchema = z
  .strictObject({
    modality: modalitySchema.meta({
      description:
        'The delivery channel: `email`, or `text` (SMS). The organization must have a working ' +
        'sender for it (an email account with an address, or an SMS number): 422 otherwise.',
    }),
    subject: z
      .string()
      .max(MESSAGE_DRAFT_LIMITS.subject)
      .refine(oneLine, 'subject must not contain line breaks (CR or LF)')
      .refine(withoutNul, 'subject must not contain U+0000')
      .nullable()
      .optional()
      .meta({ description: 'The subject line. Give `subject`, `body_html` or both.' }),
    body_html: z
      .string()
      .refine(withoutNul, 'body_html must not contain U+0000')
      .nullable()
      .optional()
      .meta({
        description:
          'The HTML body, stored and sent unchanged; a text draft is sent as its plain text.',
      }),
    to_user_name: z
      .string()
      .max(MESSAGE_DRAFT_LIMITS.name)
      .refine(oneLine, 'to_user_name must not contain line breaks (CR or LF)')
      .refine(withoutNul, 'to_user_name must not contain U+0000')
      .nullable()
      .optional()
      .meta({ description: "The recipient's display name." }),
    to_email: addressSchema
      .nullable()
      .optional()
      .meta({ description: "The recipient's address: required for an email draft." }),
    to_phone_number: z
      .string()
      .max(MESSAGE_DRAFT_LIMITS.phone)
      .refine((value) => toE164(value) !== undefined, {
        error: (issue) =>
          `not a valid phone number: ${quoted(issue.input)}; give it in E.164 ` +
          '(+14155550100) or as a US national number (415-555-0100), without an extension',
      })
      .nullable()
      .optional()
      .meta({
        description:
          "The recipient's phone number: required for a text draft. International " +
          '(`+44 20 7946 0958`) or, without a country code, a US number (`513-867-5309`); ' +
          'stored and answered in E.164 (`+15138675309`).',
      }),
    cc_emails: addressListSchema('Cc'),
    bcc_emails: addressListSchema('Bcc'),
    autosend_draft: z
      .boolean()
      .default(false)
      .meta({
        description:
          'Queue the draft for delivery now (`scheduled_to_send: true`). Not with ' +
          '`add_notification`.',
      }),
    add_notification: z
      .boolean()
      .default(false)
      .meta({
        description:
          "Notify the organization's users that the saved draft is ready for review " +
          '(`draft.ready_for_review`). Only when `autosend_draft` is false: 400 when both are true.',
      }),
    folder: z
      .string()
      .max(MESSAGE_DRAFT_LIMITS.folder)
      .refine((value) => normalizeFolder(value) !== '', {
        error: (issue) => `folder ${quoted(issue.input)} has no letter or digit (a-z, 0-9) to keep`,
      })
      .nullable()
      .optional()
      .meta({
        description:
          'A folder to file the draft in, normalised (`Sales Follow-up` → `sales-follow-up`); ' +
          '`drafts` when omitted.',
      }),
  })
  .superRefine((body, context) => {
    if (isBlank(body.subject) && isBlank(body.body_html)) {
      context.addIssue({
        code: 'custom',
        path: ['body_html'],
        message: 'give subject or body_html (or both); neither may be blank alone',
      });
    }
    if (body.autosend_draft && body.add_notification) {
      context.addIssue({
        code: 'custom',
        path: ['add_notification'],
        message:
          'autosend_draft and add_notification are mutually exclusive: a queued draft is not ' +
          'reviewed, so set add_notification to false (or autosend_draft to false to save it)',
      });
    }
    if (body.modality === 'email' && isBlank(body.to_email)) {
      context.addIssue({
        code: 'custom',
        path: ['to_email'],
        message: 'an email draft needs to_email, the address it goes to',
      });
    }
    if (body.modality === 'text') {
      if (isBlank(body.to_phone_number)) {
        context.addIssue({
          code: 'custom',
          path: ['to_phone_number'],
          message: 'a text draft needs to_phone_number, the number it goes to',
        });
      }
      for (const field of ['cc_emails', 'bcc_emails'] as const) {
        if ((body[field]?.length ?? 0) > 0) {
          context.addIssue({
            code: 'custom',
            path: [field],
            message: `${field} applies to email drafts only; a text draft has one recipient`,
          });
        }
      }
    }
  })
  .meta({ id: 'MessageDraftRequest' });

export type MessageDraftRequest = z.output<typeof messageDraftRequestSchema>;

const draftIdSchema = z.string().meta({
  description: 'The draft’s encoded identifier (opaque: pass it back as it is).',
  example: 'ob_bWQ6MDE5ZjAwMDAtMDAwMC03MDAwLTgwMDAtMDAwMDAwMDAwMDAw',
});

const timestampSchema = z.iso.datetime();

/** `POST …/message-drafts`: what the reference answers. */
export const messageDraftCreatedSchema = z
  .object({
    draft_id: draftIdSchema,
    scheduled_to_send: z.boolean().meta({ description: 'True when queued for delivery.' }),
    scheduled_send_at: timestampSchema.nullable().meta({
      description: 'When it was queued (RFC 3339, microseconds); null for a saved draft.',
    }),
    folder: z.string().meta({ description: 'The normalised folder.' }),
  })
  .meta({ id: 'MessageDraftCreated' });

export type MessageDraftCreated = z.input<typeof messageDraftCreatedSchema>;

/** One draft, as the detail and list routes answer it: the reference's record, and `status`. */
export const messageDraftSchema = z
  .object({
    draft_id: draftIdSchema,
    subject: z.string().nullable(),
    body_html: z.string().nullable(),
    modality: modalitySchema,
    agent_id: z
      .string()
      .nullable()
      .meta({ description: 'The agent’s encoded identifier; null when none is assigned.' }),
    recipient_name: z.string().nullable(),
    recipient_email: z.string().nullable(),
    recipient_phone_number: z.string().nullable().meta({ description: 'E.164.' }),
    cc_emails: z.array(z.string()),
    bcc_emails: z.array(z.string()),
    scheduled_send_at: timestampSchema.nullable().meta({
      description: 'When it was queued for delivery; null while saved for review.',
    }),
    folder: z.string(),
    created_at: timestampSchema,
    status: messageDraftStatusSchema.exclude(['sent']).meta({
      description:
        '`draft` (saved), `queued` or `sending` (its delivery is under way: it cannot be ' +
        'deleted), or `failed` (its delivery failed: it can be deleted). A sent draft is ' +
        'promoted into a conversation and no longer answered here.',
    }),
  })
  .meta({ id: 'MessageDraft' });

export type MessageDraftResponse = z.input<typeof messageDraftSchema>;

export const messageDraftListSchema = pageSchema(messageDraftSchema, 'MessageDraftList');

const EARLIEST = Date.parse('0001-01-01T00:00:00Z');
const LATEST = Date.parse('9999-12-31T23:59:59.999Z');

const dateBoundSchema = (description: string) =>
  z
    .union([z.iso.date(), z.iso.datetime({ offset: true })])
    .refine((value) => {
      const at = Date.parse(value);
      return at >= EARLIEST && at <= LATEST;
    }, 'must fall between years 0001 and 9999')
    .optional()
    .meta({ description });

export const messageDraftListQuerySchema = z
  .strictObject({
    limit: z.coerce
      .number()
      .int()
      .min(1)
      .max(MESSAGE_DRAFT_LIMITS.pageMax)
      .default(MESSAGE_DRAFT_LIMITS.pageDefault)
      .meta({ description: 'Drafts per page: 1–100, 25 by default.' }),
    cursor: z.string().min(1).max(512).optional().meta({
      description: 'Opaque: the `next_cursor` of the previous page, asked with the same dates.',
    }),
    start_date: dateBoundSchema(
      'Only drafts created at or after this: RFC 3339, or a date (from its start, UTC).',
    ),
    end_date: dateBoundSchema(
      'Only drafts created at or before this: RFC 3339, or a date (to its end, UTC).',
    ),
  })
  .refine(
    (query) =>
      query.start_date === undefined ||
      query.end_date === undefined ||
      Date.parse(startBound(query.start_date)) <= Date.parse(endBound(query.end_date)),
    { path: ['end_date'], message: 'end_date must not be before start_date' },
  );

export type MessageDraftListQuery = z.output<typeof messageDraftListQuerySchema>;

export const organizationParamsSchema = z.object({
  organization_id: z.string().max(200).meta({
    description: 'The caller’s organization (its id): any other answers 404.',
  }),
});

export const messageDraftParamsSchema = organizationParamsSchema.extend({
  draft_id: z.string().max(200).meta({ description: 'The draft’s encoded identifier.' }),
});
