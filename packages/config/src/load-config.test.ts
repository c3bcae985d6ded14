import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { envSchema } from './env.schema.ts';
import { ConfigError, loadConfig } from './load-config.ts';

describe('loadConfig', () => {
  it('gives working local defaults for an empty environment', () => {
    const config = loadConfig({});
    expect(config.DATABASE_URL).toBe('postgres://postgres:postgres@127.0.0.1:5432/outbound');
    expect(config.REDIS_URL).toBe('redis://127.0.0.1:6379');
    expect(config.PORT).toBe(3000);
    expect(config.MIGRATE_ON_START).toBe(true);
    expect(Buffer.from(config.CREDENTIALS_ENCRYPTION_KEY, 'base64')).toHaveLength(32);
  });

  it('parses values into their types and freezes the result', () => {
    const config = loadConfig({ PORT: '8080', MIGRATE_ON_START: 'false', DATABASE_POOL_MAX: '3' });
    expect(config.PORT).toBe(8080);
    expect(config.MIGRATE_ON_START).toBe(false);
    expect(config.DATABASE_POOL_MAX).toBe(3);
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('treats empty strings as unset', () => {
    expect(loadConfig({ PORT: '', CREDENTIALS_ENCRYPTION_KEY: '' }).PORT).toBe(3000);
  });

  it('reports one line per bad variable, naming it and the value', () => {
    let error: unknown;
    try {
      loadConfig({ PORT: 'eighty', REDIS_URL: 'http://example.com', LOG_LEVEL: 'loud' });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems).toHaveLength(3);
    expect(problems.find((line) => line.startsWith('PORT:'))).toContain('"eighty"');
    expect(problems.find((line) => line.startsWith('REDIS_URL:'))).toContain('http://example.com');
    expect(problems.find((line) => line.startsWith('LOG_LEVEL:'))).toBeDefined();
    expect((error as ConfigError).message.split('\n')).toHaveLength(4);
  });

  it('never echoes a secret value', () => {
    expect(() => loadConfig({ CREDENTIALS_ENCRYPTION_KEY: 'c2hvcnQ=' })).toThrow(/redacted/);
    expect(() => loadConfig({ CREDENTIALS_ENCRYPTION_KEY: 'c2hvcnQ=' })).not.toThrow(/c2hvcnQ/);
  });

  it('takes admin credentials as a pair', () => {
    expect(() => loadConfig({ ADMIN_USERNAME: 'ops' })).toThrow(/ADMIN_PASSWORD/);
    expect(() => loadConfig({ ADMIN_USERNAME: 'ops', ADMIN_PASSWORD: 'short' })).toThrow(
      /ADMIN_PASSWORD: at least 8/,
    );
    const config = loadConfig({ ADMIN_USERNAME: 'ops', ADMIN_PASSWORD: 'long-enough' });
    expect([config.ADMIN_USERNAME, config.ADMIN_PASSWORD]).toEqual(['ops', 'long-enough']);
  });

  it('requires an encryption key in production', () => {
    expect(() => loadConfig({ NODE_ENV: 'production' })).toThrow(/CREDENTIALS_ENCRYPTION_KEY/);
    const key = Buffer.alloc(32, 7).toString('base64');
    expect(loadConfig({ NODE_ENV: 'production', CREDENTIALS_ENCRYPTION_KEY: key }).NODE_ENV).toBe(
      'production',
    );
  });

  it('reads schedule bounds and refuses a minimum interval above the maximum', () => {
    const config = loadConfig({});
    expect(config.SCHEDULE_MIN_INTERVAL_MS).toBe(1_000);
    expect(config.SCHEDULE_MAX_INTERVAL_MS).toBe(366 * 24 * 3_600_000);
    expect(config.SCHEDULE_MAX_OCCURRENCES).toBe(1_000);
    expect(config.RECONCILE_INTERVAL_MS).toBe(30_000);
    expect(() =>
      loadConfig({ SCHEDULE_MIN_INTERVAL_MS: '5000', SCHEDULE_MAX_INTERVAL_MS: '4000' }),
    ).toThrow(/SCHEDULE_MIN_INTERVAL_MS: must not exceed SCHEDULE_MAX_INTERVAL_MS \(4000\)/);
  });

  it('refuses the webhook loopback allowances in production, and only there', () => {
    const key = Buffer.alloc(32, 7).toString('base64');
    const production = { NODE_ENV: 'production', CREDENTIALS_ENCRYPTION_KEY: key };
    expect(() => loadConfig({ ...production, WEBHOOK_ALLOW_HOSTS: '127.0.0.1' })).toThrow(
      /WEBHOOK_ALLOW_HOSTS: must be empty when NODE_ENV=production/,
    );
    expect(() => loadConfig({ ...production, WEBHOOK_ALLOW_HTTP: 'true' })).toThrow(
      /WEBHOOK_ALLOW_HTTP: must be false when NODE_ENV=production/,
    );
    const test = loadConfig({
      WEBHOOK_ALLOW_HOSTS: '127.0.0.1, Hooks.Local',
      WEBHOOK_ALLOW_HTTP: '1',
    });
    expect(test.WEBHOOK_ALLOW_HOSTS).toEqual(['127.0.0.1', 'hooks.local']);
    expect(test.WEBHOOK_ALLOW_HTTP).toBe(true);
    expect(loadConfig(production).WEBHOOK_ALLOW_HOSTS).toEqual([]);
  });

  it('documents every variable in .env.example, and nothing else', () => {
    const example = readFileSync(new URL('../../../.env.example', import.meta.url), 'utf8');
    const documented = [...example.matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map((match) => match[1]);
    expect(documented.sort()).toEqual(Object.keys(envSchema.shape).sort());
  });
});
