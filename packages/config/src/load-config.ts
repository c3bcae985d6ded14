import type { z } from 'zod';
import { envSchema } from './env.schema.ts';

/** A development-only key, so a fresh checkout can store sender credentials without setup. */
const DEVELOPMENT_CREDENTIALS_KEY = Buffer.alloc(32, 'outbound-development-only-key').toString(
  'base64',
);

const configSchema = envSchema
  .superRefine((env, ctx) => {
    if (env.NODE_ENV === 'production' && env.CREDENTIALS_ENCRYPTION_KEY === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['CREDENTIALS_ENCRYPTION_KEY'],
        message: 'is required when NODE_ENV=production',
      });
    }
  })
  .superRefine((env, ctx) => {
    if ((env.ADMIN_USERNAME === undefined) !== (env.ADMIN_PASSWORD === undefined)) {
      const missing = env.ADMIN_USERNAME === undefined ? 'ADMIN_USERNAME' : 'ADMIN_PASSWORD';
      ctx.addIssue({
        code: 'custom',
        path: [missing],
        message: 'ADMIN_USERNAME and ADMIN_PASSWORD are set together or not at all',
      });
    }
  })
  .superRefine((env, ctx) => {
    if (env.SCHEDULE_MIN_INTERVAL_MS > env.SCHEDULE_MAX_INTERVAL_MS) {
      ctx.addIssue({
        code: 'custom',
        path: ['SCHEDULE_MIN_INTERVAL_MS'],
        message: `must not exceed SCHEDULE_MAX_INTERVAL_MS (${env.SCHEDULE_MAX_INTERVAL_MS})`,
      });
    }
  })
  .superRefine((env, ctx) => {
    // Loopback receivers are for tests and local development only: in production every
    // webhook URL is https and passes the private-address check.
    if (env.NODE_ENV !== 'production') return;
    if (env.WEBHOOK_ALLOW_HOSTS.length > 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['WEBHOOK_ALLOW_HOSTS'],
        message: 'must be empty when NODE_ENV=production',
      });
    }
    if (env.WEBHOOK_ALLOW_HTTP) {
      ctx.addIssue({
        code: 'custom',
        path: ['WEBHOOK_ALLOW_HTTP'],
        message: 'must be false when NODE_ENV=production',
      });
    }
  })
  .transform((env) => ({
    ...env,
    CREDENTIALS_ENCRYPTION_KEY: env.CREDENTIALS_ENCRYPTION_KEY ?? DEVELOPMENT_CREDENTIALS_KEY,
  }));

export type Config = Readonly<z.infer<typeof configSchema>>;

/** Raised when the environment holds bad values; `message` has one line per bad variable. */
export class ConfigError extends Error {
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(`Invalid configuration:\n${problems.map((line) => `  ${line}`).join('\n')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/**
 * Parses the environment once into a frozen, typed config. Empty strings count as unset, so
 * `FOO=` in an env file falls back to the default instead of failing.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const present = Object.fromEntries(
    Object.entries(env).filter(([, value]) => value !== undefined && value !== ''),
  );
  const parsed = configSchema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(describeIssues(parsed.error, env));
  }
  return Object.freeze(parsed.data);
}

function describeIssues(error: z.ZodError, env: NodeJS.ProcessEnv): string[] {
  const byVariable = new Map<string, string>();
  for (const issue of error.issues) {
    const name = String(issue.path[0] ?? 'environment');
    if (byVariable.has(name)) continue;
    const value = env[name];
    const shown = value === undefined ? '' : ` (got ${JSON.stringify(redact(name, value))})`;
    byVariable.set(name, `${name}: ${issue.message}${shown}`);
  }
  return [...byVariable.values()];
}

function redact(name: string, value: string): string {
  return /KEY|SECRET|PASSWORD|TOKEN/.test(name) ? '<redacted>' : value;
}

/** Loads config or ends the process with one clear line per bad variable. */
export function loadConfigOrExit(env: NodeJS.ProcessEnv = process.env): Config {
  try {
    return loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
}
