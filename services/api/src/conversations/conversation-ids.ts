import { z } from 'zod';

const POSITIVE_INTEGER = /^[1-9][0-9]{0,15}$/;

/** True for the decimal text of a positive safe integer, without sign, spaces or exponent. */
export function isIntegerId(text: string): boolean {
  return POSITIVE_INTEGER.test(text) && Number.isSafeInteger(Number(text));
}

/**
 * A path parameter naming a row by its integer id: decimal digits only (no sign, exponent or
 * leading zero), at most 2^53 - 1, read as a number. Documented as an int64 integer.
 */
export function integerIdParam(description: string) {
  return z
    .string()
    .refine(isIntegerId, 'must be a positive integer')
    .transform(Number)
    .meta({
      description,
      override: ({ jsonSchema }) => {
        for (const key of Object.keys(jsonSchema)) {
          if (key !== 'description') delete jsonSchema[key];
        }
        Object.assign(jsonSchema, { type: 'integer', format: 'int64', minimum: 1 });
      },
    });
}

/** An agent or other row id in a JSON body: a positive integer. */
export const integerIdSchema = z.int().positive();
