import { z } from 'zod';
import { ENV_DESCRIPTIONS } from './env-descriptions.ts';
import { envSchema } from './env.schema.ts';

export const CONFIG_TABLE_START =
  '<!-- config-table:start (written by `pnpm docs:config` from packages/config: edit the schema, not this table) -->';
export const CONFIG_TABLE_END = '<!-- config-table:end -->';

/** The parts of a field's JSON Schema (zod's, for the input) the table shows. */
interface FieldSchema {
  type?: string;
  enum?: string[];
  default?: unknown;
  minimum?: number;
  exclusiveMinimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  format?: string;
}

const BOOLEAN_WORDS = ['0', '1', 'false', 'no', 'true', 'yes'];

/**
 * The configuration table for README.md: one row per variable of `envSchema`, in schema order,
 * with its default and accepted values read from the schema itself. Wrapped in
 * `prettier-ignore`, so the formatter leaves the generated text exactly as written.
 */
export function renderConfigTable(): string {
  const { properties } = z.toJSONSchema(envSchema, { io: 'input', unrepresentable: 'any' }) as {
    properties: Record<string, FieldSchema>;
  };
  const defaults = envSchema.parse({}) as Record<string, unknown>;
  const names = Object.keys(envSchema.shape) as (keyof typeof envSchema.shape)[];
  const rows = names.map((name) => {
    const field = properties[name] ?? {};
    return [
      `\`${name}\``,
      defaultOf(field, defaults[name]),
      accepted(field),
      ENV_DESCRIPTIONS[name],
    ].map((cell) => cell.replaceAll('|', '\\|'));
  });
  const header = ['variable', 'default', 'accepts', 'meaning'];
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column]!.length)),
  );
  const line = (cells: string[]) =>
    `| ${cells.map((cell, column) => cell.padEnd(widths[column]!)).join(' | ')} |`;
  return [
    CONFIG_TABLE_START,
    '<!-- prettier-ignore-start -->',
    line(header),
    line(widths.map((width) => '-'.repeat(width))),
    ...rows.map(line),
    '<!-- prettier-ignore-end -->',
    CONFIG_TABLE_END,
  ].join('\n');
}

/** `readme` with the text between the table's markers (markers included) rendered anew. */
export function replaceConfigTable(readme: string): string {
  const start = readme.indexOf(CONFIG_TABLE_START);
  const end = readme.indexOf(CONFIG_TABLE_END);
  if (start === -1 || end === -1 || end < start) {
    throw new Error(
      `README.md has no configuration table markers: put ${CONFIG_TABLE_START} and ` +
        `${CONFIG_TABLE_END} where the table belongs`,
    );
  }
  return readme.slice(0, start) + renderConfigTable() + readme.slice(end + CONFIG_TABLE_END.length);
}

function defaultOf(field: FieldSchema, parsed: unknown): string {
  const value = field.default ?? parsed;
  if (value === undefined) return 'unset';
  if (Array.isArray(value)) return value.length === 0 ? 'empty' : `\`${value.join(',')}\``;
  if (value === '') return 'empty';
  const scalar =
    typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean';
  return `\`${scalar ? String(value) : JSON.stringify(value)}\``;
}

function accepted(field: FieldSchema): string {
  if (field.enum !== undefined) {
    if ([...field.enum].sort().join() === BOOLEAN_WORDS.join()) {
      return '`true`/`false` (or `1`/`0`, `yes`/`no`)';
    }
    return field.enum.map((value) => `\`${value}\``).join(', ');
  }
  if (field.type === 'integer') {
    const low = field.minimum ?? (field.exclusiveMinimum ?? -1) + 1;
    const high = field.maximum === Number.MAX_SAFE_INTEGER ? undefined : field.maximum;
    return high === undefined ? `integer ≥ ${low}` : `integer ${low}–${high}`;
  }
  if (field.format === 'uri') return 'URL';
  if (field.format === 'base64') return 'base64';
  if (field.minLength !== undefined && field.minLength > 1) {
    return `${field.minLength}–${field.maxLength ?? '∞'} characters`;
  }
  return 'text';
}
