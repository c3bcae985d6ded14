import { z } from 'zod';
import { ERROR_CODES } from './error-codes.ts';

/** The body of every failed request, whatever failed. */
export const errorResponseSchema = z
  .object({
    error: z.object({
      code: z.enum(ERROR_CODES),
      message: z.string(),
      details: z.record(z.string(), z.unknown()).nullable(),
    }),
    request_id: z.string(),
  })
  .meta({ id: 'ErrorResponse', description: 'The shape of every error answer.' });

export type ErrorResponse = z.infer<typeof errorResponseSchema>;
