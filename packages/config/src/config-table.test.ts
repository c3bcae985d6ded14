import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  CONFIG_TABLE_END,
  CONFIG_TABLE_START,
  renderConfigTable,
  replaceConfigTable,
} from './config-table.ts';
import { envSchema } from './env.schema.ts';

const readme = () => readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');

describe('the configuration table in README.md', () => {
  it('is exactly what the schema generates (run `pnpm docs:config` when this fails)', () => {
    const text = readme();
    const start = text.indexOf(CONFIG_TABLE_START);
    const end = text.indexOf(CONFIG_TABLE_END);
    expect(start).toBeGreaterThan(-1);
    expect(end).toBeGreaterThan(start);
    expect(text.slice(start, end + CONFIG_TABLE_END.length)).toBe(renderConfigTable());
  });

  it('has one row per variable, with its default and what it accepts', () => {
    const rows = renderConfigTable()
      .split('\n')
      .filter((line) => line.startsWith('| `'));
    expect(rows.map((row) => /^\| `([A-Z0-9_]+)`/.exec(row)?.[1])).toEqual(
      Object.keys(envSchema.shape),
    );
    const row = (name: string) => rows.find((line) => line.startsWith(`| \`${name}\` `));
    expect(row('PORT')).toMatch(/\| `3000` +\| integer 0–65535 +\|/);
    expect(row('MIGRATE_ON_START')).toMatch(/\| `true` +\| `true`\/`false`/);
    expect(row('ADMIN_USERNAME')).toMatch(/\| unset +\|/);
    expect(row('NODE_ENV')).toContain('`development`, `test`, `production`');
  });

  it('is replaced between its markers, and a stale or missing table is noticed', () => {
    const stale = `# Title\n\n${CONFIG_TABLE_START}\n| old |\n${CONFIG_TABLE_END}\n\nAfter.\n`;
    const fresh = replaceConfigTable(stale);
    expect(fresh).not.toBe(stale);
    expect(fresh.startsWith('# Title\n\n')).toBe(true);
    expect(fresh.endsWith('\n\nAfter.\n')).toBe(true);
    expect(replaceConfigTable(fresh)).toBe(fresh);
    expect(() => replaceConfigTable('# No table here\n')).toThrow(/no configuration table/);
  });
});
