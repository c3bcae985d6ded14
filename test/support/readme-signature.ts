import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** The README's `verifyOutboundSignature`: true when the header signs the body with the secret. */
export type SignatureVerifier = (
  rawBody: Buffer | string,
  header: string | string[] | undefined,
  secret: string,
  toleranceSeconds?: number,
) => boolean;

/**
 * Loads the signature check exactly as README.md shows it (the first `js` block under
 * "Verifying the signature"), so the tests check calls the way a receiver would, and fail when
 * the documented snippet stops matching what the dispatcher sends.
 */
export async function readmeSignatureVerifier(): Promise<SignatureVerifier> {
  const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
  const section = readme.slice(readme.indexOf('### Verifying the signature'));
  const snippet = /```js\n([\s\S]*?)```/.exec(section)?.[1];
  if (snippet === undefined) throw new Error('README.md has no signature-check snippet');
  const file = join(await mkdtemp(join(tmpdir(), 'outbound-readme-')), 'verify.mjs');
  await writeFile(file, snippet);
  const loaded = (await import(pathToFileURL(file).href)) as {
    verifyOutboundSignature?: SignatureVerifier;
  };
  if (typeof loaded.verifyOutboundSignature !== 'function') {
    throw new Error('the README snippet does not export verifyOutboundSignature');
  }
  return loaded.verifyOutboundSignature;
}
