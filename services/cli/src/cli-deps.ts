import type { Db } from '@outbound/db';
import type { CredentialsCipher } from '@outbound/domain';
import type { OutputStream } from './output.ts';

/** What the commands need, built by `main.ts` (or by a test) and passed in. */
export interface CliDeps {
  db: Db;
  /** Seals sender credentials; built from CREDENTIALS_ENCRYPTION_KEY. */
  cipher: CredentialsCipher;
  stdout: OutputStream;
  stderr: OutputStream;
  /** Runs once before any command's action (not for --help): migrations, for instance. */
  beforeCommand?: () => Promise<void>;
}
