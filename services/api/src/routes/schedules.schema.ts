import { scheduleStatusSchema } from '@outbound/domain';
import { z } from 'zod';

const epochMs = z.int().nullable();

/** `GET` and `DELETE /v2/outbound/schedules/{schedule_id}`: the schedule now. */
export const scheduleResponseSchema = z
  .object({
    request_id: z.string().meta({ description: "This request's id (X-Request-Id)." }),
    schedule: z.object({
      schedule_id: z.uuid(),
      workflow_id: z.string(),
      status: scheduleStatusSchema,
      session_id: z.uuid(),
      group_ids: z.array(z.uuid()),
      actor_user_id: z.string(),
      text: z.string().nullable(),
      media: z.array(
        z.object({
          url: z.string().meta({ description: 'Outbound’s own URL of the stored image.' }),
          mimetype: z.string(),
          filename: z.string().nullable(),
          sha256: z.string(),
          size_bytes: z.int(),
          storage_key: z.string(),
        }),
      ),
      first_run_at_ms: z.int(),
      interval_ms: z.int().nullable().meta({ description: 'Null for a one-shot send.' }),
      max_occurrences: z.int(),
      occurrences_made: z.int(),
      next_run_at_ms: epochMs.meta({ description: 'Null once completed or canceled.' }),
      send_ids: z.array(z.uuid()).meta({
        description: 'The sends of past occurrences, in order (occurrence 1 first).',
      }),
      created_at_ms: z.int(),
      updated_at_ms: z.int(),
      canceled_at_ms: epochMs,
    }),
  })
  .meta({ id: 'WhatsappSchedule' });

export type ScheduleResponse = z.output<typeof scheduleResponseSchema>;
