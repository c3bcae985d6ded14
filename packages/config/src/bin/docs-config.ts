// `pnpm docs:config`: rewrites the configuration table in README.md from the config schema.
// `--check` only reports whether it is up to date (exit 1 when not).
import { readFileSync, writeFileSync } from 'node:fs';
import { replaceConfigTable } from '../config-table.ts';

const readme = new URL('../../../../README.md', import.meta.url);
const before = readFileSync(readme, 'utf8');
const after = replaceConfigTable(before);
const check = process.argv.includes('--check');

if (after === before) {
  process.stdout.write('README.md: the configuration table is up to date\n');
} else if (check) {
  process.stdout.write('README.md: the configuration table is stale; run `pnpm docs:config`\n');
  process.exitCode = 1;
} else {
  writeFileSync(readme, after);
  process.stdout.write('README.md: the configuration table was rewritten from the schema\n');
}
