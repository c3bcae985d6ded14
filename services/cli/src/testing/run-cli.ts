import { randomBytes } from 'node:crypto';
import type { Db } from '@outbound/db';
import { CredentialsCipher } from '@outbound/domain';
import { runProgram } from '../program.ts';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliRunner {
  cipher: CredentialsCipher;
  run(...args: string[]): Promise<CliRun>;
}

/** Runs `outbound` commands in-process against `db`, capturing what they print. */
export function createCliRunner(db: Db): CliRunner {
  const cipher = new CredentialsCipher(randomBytes(32).toString('base64'));
  return {
    cipher,
    run: async (...args) => {
      let stdout = '';
      let stderr = '';
      const code = await runProgram(
        {
          db,
          cipher,
          stdout: { write: (chunk: string) => (stdout += chunk) },
          stderr: { write: (chunk: string) => (stderr += chunk) },
        },
        args,
      );
      return { code, stdout, stderr };
    },
  };
}

/** The single JSON document a `--json` run printed; throws when stdout holds anything else. */
export function parseJsonOutput<T = unknown>(run: CliRun): T {
  if (run.code !== 0) throw new Error(`exit code ${run.code}: ${run.stderr}`);
  return JSON.parse(run.stdout) as T;
}
