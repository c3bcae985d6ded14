import { deliveryStatusSchema, sendOriginSchema, sendStatusSchema } from '@outbound/domain';
import { z } from 'zod';

/** Limits of `POST /v2/outbound/sends`, from the reference. */
const SEND_LIMITS = {
  groups: 100,
  idempotencyKey: 200,
  text: 4_096,
  media: 10,
} as const;

export const MEDIA_MIMETYPES = ['image/jpeg', 'image/png', 'image/webp'] as const;

const mediaItemSchema = z
  .strictObject({
    url: z
      .url()
      .max(2_048)
      .meta({
        description:
          'https URL of the image. Outbound fetches it once (refusing private, loopback and ' +
          'link-local addresses) and hands providers its own copy.',
      }),
    mimetype: z.enum(MEDIA_MIMETYPES),
    filename: z.string().min(1).max(255).optional(),
  })
  .meta({ id: 'WhatsappSendMediaItem' });

const groupIdsSchema = z
  .array(z.uuid())
  .min(1)
  .max(SEND_LIMITS.groups)
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
      '1–100, each at most once.',
  });

/** Latest instant a JavaScript Date can hold. */
const MAX_EPOCH_MS = 8_640_000_000_000_000;

const scheduleSchema = z
  .strictObject({
    first_run_at_ms: z
      .int()
      .min(0)
      .max(MAX_EPOCH_MS)
      .meta({
        description:
          'When the first (or only) occurrence is due, in epoch milliseconds. At most 5 s in ' +
          'the past (400 otherwise); a time already reached fires at once.',
      }),
    interval_ms: z
      .int()
      .positive()
      .optional()
      .meta({
        description:
          'Time between occurrences, within the configured bounds (1 s to 366 days by ' +
          'default). Omit it for a one-shot scheduled send.',
      }),
    max_occurrences: z
      .int()
      .min(1)
      .optional()
      .meta({
        description:
          'How many sends the schedule makes, at most the configured maximum (1000 by ' +
          'default); 1 when omitted. Above 1 needs `interval_ms`.',
      }),
  })
  .meta({
    id: 'WhatsappSendSchedule',
    description:
      'Send later, and optionally repeatedly: occurrence N is due at `first_run_at_ms + ' +
      '(N − 1) · interval_ms`. If Outbound could not fire for a while, a schedule fires once for ' +
      'the slots it missed and continues at its next future slot.',
    example: { first_run_at_ms: 1777809600000, interval_ms: 3600000, max_occurrences: 3 },
  });

/**
 * The body of `POST /v2/outbound/sends`. Unknown fields are refused (400 naming them) rather
 * than ignored, so a misspelt field never silently changes what is sent.
 */
export const sendRequestSchema = z
  .strictObject({
    session_id: z.uuid().meta({
      description:
        'WORKING sending session id. Receiving sessions cannot be used for outbound sends.',
    }),
    group_ids: groupIdsSchema,
    idempotency_key: z
      .string()
      .min(1)
      .max(SEND_LIMITS.idempotencyKey)
      .meta({
        description:
          'Per organization. The same key with the same request replays the first answer ' +
          '(`duplicate_accepted`, same ids); with a different request it is a 409.',
      }),
    text: z
      .string()
      .max(SEND_LIMITS.text)
      .optional()
      .meta({
        description:
          'Text body for a text send, or image caption when media is present. Required when ' +
          'media and files are omitted.',
      }),
    media: z
      .array(mediaItemSchema)
      .max(SEND_LIMITS.media)
      .optional()
      .meta({
        description:
          'Image media URLs to send with the message. At least text, media or multipart files ' +
          'must be provided; media and files together are at most 10.',
      }),
    schedule: scheduleSchema.optional(),
  })
  .meta({
    id: 'WhatsappSendRequest',
    description: 'Unknown fields are rejected with 400 `validation_failed` naming them.',
  });

export type SendRequest = z.output<typeof sendRequestSchema>;

const binaryFile = z.string().meta({ format: 'binary' });

/** How the same request is sent as `multipart/form-data` (documentation only). */
export const sendFormSchema = z
  .object({
    session_id: z.uuid(),
    group_ids: z.array(z.uuid()).min(1).max(SEND_LIMITS.groups).meta({
      description: 'Repeat the field once per group, or send one field holding a JSON array.',
    }),
    idempotency_key: z.string().min(1).max(SEND_LIMITS.idempotencyKey),
    text: z.string().max(SEND_LIMITS.text).optional(),
    media: z.string().optional().meta({
      description: 'A JSON array of media items, as in the JSON body.',
    }),
    schedule: z.string().optional().meta({
      description: 'A JSON object, as `schedule` in the JSON body.',
    }),
    files: z
      .array(binaryFile)
      .optional()
      .meta({
        description:
          'JPEG, PNG or WebP image files, each within the configured size limit; media and ' +
          'files together are at most 10. Files in any other field are refused.',
      }),
  })
  .meta({
    id: 'WhatsappSendForm',
    description: 'Unknown fields are rejected with 400 `validation_failed` naming them.',
  });

const acceptedStatusSchema = z.enum(['accepted', 'duplicate_accepted']);

const sendResultSchema = z.object({
  recipient_send_id: z.uuid(),
  group_id: z.uuid(),
  ok: z.boolean(),
  status: deliveryStatusSchema,
});

/** The answer to an accepted (or replayed) send, as the reference shows it. */
export const sendAcceptedSchema = z
  .object({
    status: acceptedStatusSchema,
    request_id: z.string().meta({ description: "This request's id (X-Request-Id)." }),
    send: z.object({
      status: acceptedStatusSchema.meta({
        description: 'As first answered: a replay repeats the original send unchanged.',
      }),
      send_id: z.uuid(),
      event_ids: z.array(z.uuid()),
      results: z.array(sendResultSchema),
      request_id: z.string().meta({ description: 'The id of the request that created the send.' }),
    }),
  })
  .meta({ id: 'WhatsappSendAccepted' });

export type SendAccepted = z.output<typeof sendAcceptedSchema>;

/** The answer to an accepted (or replayed) scheduled send: no send yet, the schedule instead. */
export const scheduleAcceptedSchema = z
  .object({
    status: acceptedStatusSchema,
    request_id: z.string().meta({ description: "This request's id (X-Request-Id)." }),
    schedule: z.object({
      status: acceptedStatusSchema.meta({
        description: 'As first answered: a replay repeats the original schedule unchanged.',
      }),
      schedule_id: z.uuid(),
      workflow_id: z.string().meta({
        description: '`outbound:text-send-schedule:<schedule_id>`, the id of its job scheduler.',
      }),
      next_run_at_ms: z.int().meta({ description: 'When the first occurrence is due.' }),
      interval_ms: z.int().nullable().meta({ description: 'Null for a one-shot send.' }),
      max_occurrences: z.int(),
    }),
  })
  .meta({ id: 'WhatsappScheduleAccepted' });

export type ScheduleAccepted = z.output<typeof scheduleAcceptedSchema>;

/** What `POST /v2/outbound/sends` answers: a send now, or a schedule. */
export const sendCommandAcceptedSchema = z.union([sendAcceptedSchema, scheduleAcceptedSchema]);

export type SendCommandAccepted = z.output<typeof sendCommandAcceptedSchema>;

const epochMs = z.int().nullable();

/** `GET /v2/outbound/sends/{send_id}`: the send now, one result per recipient. */
export const sendStatusResponseSchema = z
  .object({
    request_id: z.string().meta({ description: "This request's id (X-Request-Id)." }),
    send: z.object({
      status: sendStatusSchema,
      send_id: z.uuid(),
      session_id: z.uuid(),
      event_ids: z.array(z.uuid()),
      results: z.array(
        z.object({
          recipient_send_id: z.uuid(),
          group_id: z.uuid().nullable(),
          recipient: z.string(),
          ok: z.boolean().meta({ description: 'False once the recipient failed or was canceled.' }),
          status: deliveryStatusSchema,
          attempts: z.int().nonnegative(),
          provider_message_id: z.string().nullable(),
          error_code: z.string().nullable(),
          error_message: z.string().nullable(),
          possible_duplicate: z.boolean().meta({
            description: 'The provider may have received this message twice (a crash mid-call).',
          }),
          due_at_ms: z.int(),
          sent_at_ms: epochMs,
          failed_at_ms: epochMs,
          canceled_at_ms: epochMs,
          created_at_ms: z.int(),
          updated_at_ms: z.int(),
        }),
      ),
      request_id: z.string().nullable(),
      created_at_ms: z.int(),
      updated_at_ms: z.int(),
    }),
  })
  .meta({ id: 'WhatsappSendStatus' });

export type SendStatusResponse = z.output<typeof sendStatusResponseSchema>;

/** `GET /v2/outbound/sends`: a page of the organization's sends, newest first. */
export const sendPageSchema = z
  .object({
    request_id: z.string().meta({ description: "This request's id (X-Request-Id)." }),
    sends: z.array(
      z.object({
        send_id: z.uuid(),
        status: sendStatusSchema,
        session_id: z.uuid(),
        origin: sendOriginSchema,
        schedule_id: z.uuid().nullable(),
        occurrence: z.int().nullable(),
        planned_at_ms: z.int().meta({ description: 'When the send was due.' }),
        request_id: z.string().nullable(),
        created_at_ms: z.int(),
        updated_at_ms: z.int(),
      }),
    ),
    next_cursor: z.string().nullable().meta({
      description: 'Pass as `cursor` for the next (older) page; null on the last page.',
    }),
  })
  .meta({ id: 'WhatsappSendPage' });

export type SendPage = z.output<typeof sendPageSchema>;
