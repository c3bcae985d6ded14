// What a scenario hands back, and how the suite prints and stores it.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute } from 'node:path';
import type { WahaServer } from '../fakes/waha-server.ts';
import { type BenchDatabase, formatSummary, root, summary } from './bench-support.ts';

/** What every scenario is given: the run's database and the fake provider it calls. */
export interface BenchContext {
  database: BenchDatabase;
  /** A fake WAHA server answering at once; scenarios `reset()` it after use. */
  waha: WahaServer;
  /** Progress lines, to stderr. */
  log(line: string): void;
}

/** One line of the results table. Figures are "median (min–max)" over runs unless said. */
export interface ResultRow {
  scenario: string;
  measure: string;
  value: string;
  /** The baseline measured beside it in the same runs, if any. */
  baseline?: string;
  /** value / baseline, computed per run. */
  ratio?: string;
  target?: string;
  /** Whether the target is met (on the median); undefined without a target. */
  pass?: boolean;
}

export interface ScenarioReport {
  name: string;
  /** What was measured and how, for the table's heading. */
  description: string;
  rows: ResultRow[];
  notes: string[];
  /** The raw figures, for the JSON report. */
  figures: unknown;
}

export function fmt(values: readonly number[], digits = 0): string {
  return formatSummary(summary(values), digits);
}

export function median(values: readonly number[]): number {
  return summary(values).median;
}

/** Per-run ratios of `values` to `baselines`. */
export function ratios(values: readonly number[], baselines: readonly number[]): number[] {
  return values.map((value, i) => value / baselines[i]!);
}

const COLUMNS: [keyof ResultRow, string][] = [
  ['scenario', 'scenario'],
  ['measure', 'measure'],
  ['value', 'Outbound'],
  ['baseline', 'baseline (same run)'],
  ['ratio', 'ratio'],
  ['target', 'target'],
  ['pass', 'met'],
];

/** The rows as a Markdown table, so it pastes into docs/benchmarks.md as printed. */
export function renderTable(rows: readonly ResultRow[]): string {
  const cell = (row: ResultRow, key: keyof ResultRow): string => {
    const value = row[key];
    if (key === 'pass') return value === undefined ? '' : value ? 'yes' : '**no**';
    return value === undefined ? '' : String(value);
  };
  const lines = [
    `| ${COLUMNS.map(([, title]) => title).join(' | ')} |`,
    `|${COLUMNS.map(() => '---').join('|')}|`,
    ...rows.map((row) => `| ${COLUMNS.map(([key]) => cell(row, key)).join(' | ')} |`),
  ];
  return `${lines.join('\n')}\n`;
}

export function renderReport(report: ScenarioReport): string {
  const notes = report.notes.map((note) => `- ${note}\n`).join('');
  return `\n### ${report.name}\n${report.description}\n\n${renderTable(report.rows)}${notes}`;
}

/** Writes `data` as JSON to `path` (relative to the repository root), creating its folder. */
export function writeJson(path: string, data: unknown): string {
  const file = isAbsolute(path) ? path : root(path);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(data, null, 2)}\n`);
  return path;
}
