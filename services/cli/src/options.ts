import { z } from 'zod';
import { usageError } from './cli-error.ts';

/**
 * Checks a command's options (as commander hands them over: strings, booleans, arrays) against
 * a zod schema. Every problem goes on one line naming the flag, e.g.
 * `--channel: Invalid option: expected one of "whatsapp"|"email"|"sms" (got "fax")`.
 */
export function parseOptions<Schema extends z.ZodType>(
  schema: Schema,
  raw: Record<string, unknown>,
  /** How to name keys that are not flags, such as positional arguments. */
  labels: Record<string, string> = {},
): z.output<Schema> {
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.map((issue) => {
    const key = issue.path[0];
    if (typeof key !== 'string') return issue.message;
    const value = raw[key];
    const shown =
      typeof value === 'string' && !SECRET_OPTIONS.has(key)
        ? ` (got ${JSON.stringify(value)})`
        : '';
    return `${labels[key] ?? flagName(key)}: ${issue.message}${shown}`;
  });
  throw usageError(problems.join('; '));
}

/** Values never echoed back, not even in an error: credentials, and what may be an API key. */
const SECRET_OPTIONS = new Set(['credentials', 'key']);

/** `chatId` → `--chat-id`, the spelling the user typed. */
export function flagName(key: string): string {
  return `--${key.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)}`;
}

export const idSchema = z.uuid({ error: 'must be a UUID' });

/** Names and labels: the schema's CHECK allows 1 to 200 characters. */
export const nameSchema = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .max(200, 'at most 200 characters');

export const jsonFlagSchema = z.boolean().default(false);

/**
 * A JSON object given on the command line. The parse error is not repeated, since it can quote
 * the input, and the input may be a secret.
 */
export const jsonObjectSchema = z.string().transform((text, ctx): Record<string, unknown> => {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    ctx.addIssue({ code: 'custom', message: 'must be a JSON object, such as {"key":"value"}' });
    return z.NEVER;
  }
  return value as Record<string, unknown>;
});

export const e164Schema = z
  .string()
  .regex(/^\+[1-9]\d{6,14}$/, 'must be an E.164 phone number, such as +15551234567');
