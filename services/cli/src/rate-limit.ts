import { type RateLimit, rateLimitSchema } from '@outbound/domain';
import { z } from 'zod';

/** The columns are Postgres `integer`s. */
const INT4_MAX = 2_147_483_647;

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, min: 60_000, h: 3_600_000 } as const;

const RATE_LIMIT_TEXT = /^(\d+)\s*\/\s*(\d+)?\s*(ms|s|min|m|h)$/;

export const RATE_LIMIT_EXAMPLE = '600/60s';

/** The domain's rate limit, bounded to what the columns can hold. */
export const storableRateLimitSchema = rateLimitSchema.refine(
  (limit) => limit.max <= INT4_MAX && limit.window_ms <= INT4_MAX,
  'is too large',
);

/**
 * Parses `<max>/<window>`: `600/60s`, `20/1m`, `600/min`, `5/500ms`, `100/1h`. A window without
 * a number means one unit (`600/min` is 600 a minute).
 */
export const rateLimitTextSchema = z.string().transform((text, ctx): RateLimit => {
  const match = RATE_LIMIT_TEXT.exec(text.trim());
  if (match === null) {
    ctx.addIssue({
      code: 'custom',
      message: `expected <max>/<window> such as ${RATE_LIMIT_EXAMPLE}, 20/1m or 5/500ms`,
    });
    return z.NEVER;
  }
  const unit = match[3] as keyof typeof UNIT_MS;
  const limit = { max: Number(match[1]), window_ms: Number(match[2] ?? '1') * UNIT_MS[unit] };
  const checked = storableRateLimitSchema.safeParse(limit);
  if (!checked.success) {
    ctx.addIssue({ code: 'custom', message: describeRateLimitProblem(checked.error) });
    return z.NEVER;
  }
  return checked.data;
});

function describeRateLimitProblem(error: z.ZodError): string {
  const issue = error.issues[0];
  const field = issue?.path[0] === 'window_ms' ? 'the window' : 'the maximum';
  return issue?.path.length ? `${field} must be a positive whole number` : 'is too large';
}

/** `600/60s`-style text for a stored limit, the way a person would write it. */
export function formatRateLimit(limit: RateLimit): string {
  const { max, window_ms: windowMs } = limit;
  if (windowMs % 3_600_000 === 0) return `${max}/${windowMs / 3_600_000}h`;
  if (windowMs % 60_000 === 0) return `${max}/${windowMs / 60_000}m`;
  if (windowMs % 1_000 === 0) return `${max}/${windowMs / 1_000}s`;
  return `${max}/${windowMs}ms`;
}
