// Opens /docs in a real headless Chromium (Debian's `chromium`, driven by playwright-core) and
// checks the page renders the API description and lists the send route, with every request
// answered by the API itself and no Content-Security-Policy violation. Not part of the test
// suite (it needs Chromium): `pnpm check:docs`. Exits 0 when the page is right, 1 otherwise.
//
// The API runs in this process as main.ts builds it, with the configuration from the
// environment, on a free port; the docs page needs neither Postgres nor Redis to answer.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { createLogger, loadConfigOrExit } from '@outbound/config';
import { createDb } from '@outbound/db';
import { closeQueues, createProducerConnection, createQueues } from '@outbound/queue';
import { chromium, type ConsoleMessage } from 'playwright-core';
import { createApp } from '../app.ts';
import { startServer } from '../server.ts';

const SEND_ROUTE = { method: 'POST', path: '/v2/outbound/sends' };
const SCREENSHOT = new URL('../../../../reports/docs-page.png', import.meta.url);
const RENDER_TIMEOUT_MS = 30_000;
/** The idempotency key of the reference's send example (see reference-examples.ts). */
const REFERENCE_EXAMPLE_KEY = 'frontend-outbound-018f06e2';

const out = (line: string) => process.stdout.write(`${line}\n`);

function findChromium(): string | undefined {
  const fromEnv = process.env.CHROMIUM_PATH;
  if (fromEnv !== undefined && fromEnv !== '') return existsSync(fromEnv) ? fromEnv : undefined;
  for (const name of ['chromium', 'chromium-browser']) {
    try {
      return execFileSync('which', [name], { encoding: 'utf8' }).trim();
    } catch {
      // not on PATH; try the next name
    }
  }
  return undefined;
}

const executablePath = findChromium();
if (executablePath === undefined) {
  out(
    'docs check: Chromium was not found (looked for CHROMIUM_PATH, `chromium`, `chromium-browser`).',
  );
  out("Install Debian's package (as root, or with sudo before each command), then run this again:");
  out('  apt-get update && apt-get install -y chromium');
  out('(or point CHROMIUM_PATH at another Chromium or Chrome binary).');
  process.exit(1);
}

const config = loadConfigOrExit({ ...process.env, HOST: '127.0.0.1', PORT: '0' });
const logger = createLogger({ ...config, LOG_LEVEL: 'warn' }, { name: 'api' });
const db = createDb({ connectionString: config.DATABASE_URL, poolMax: 1 });
const redis = createProducerConnection({ url: config.REDIS_URL, connectionName: 'docs-check' });
redis.on('error', () => {}); // The docs page does not need Redis; a missing one is fine here.
const queues = createQueues({ connection: redis, prefix: config.QUEUE_PREFIX });
for (const queue of Object.values(queues)) queue.on('error', () => {});
const server = await startServer(createApp({ config, logger, db, queues, redis }), {
  host: '127.0.0.1',
  port: 0,
  shutdownTimeoutMs: 1_000,
});
const browser = await chromium.launch({
  executablePath,
  headless: true,
  // Root (CI, containers) cannot use Chromium's sandbox.
  args: ['--no-sandbox', '--disable-dev-shm-usage'],
});

const problems: string[] = [];
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 2000 } });
  const requested: string[] = [];
  const consoleErrors: string[] = [];
  page.on('request', (request) => requested.push(request.url()));
  page.on('console', (message: ConsoleMessage) => {
    if (message.type() === 'error') consoleErrors.push(message.text());
  });
  page.on('pageerror', (error) => consoleErrors.push(`uncaught: ${error.message}`));

  const response = await page.goto(`${server.url}/docs`, { waitUntil: 'load' });
  if (response?.status() !== 200) problems.push(`GET /docs answered ${response?.status()}`);
  const csp = response?.headers()['content-security-policy'] ?? '';
  if (!csp.includes("default-src 'none'")) problems.push(`no strict CSP on /docs: "${csp}"`);

  const sendRoute = page
    .locator('.opblock-post')
    .filter({ has: page.locator(`.opblock-summary-path[data-path="${SEND_ROUTE.path}"]`) });
  await sendRoute.first().waitFor({ state: 'visible', timeout: RENDER_TIMEOUT_MS });
  // The heading also holds the version badges, on lines of their own.
  const heading = await page.locator('.information-container .title').first().innerText();
  const title = heading.split('\n')[0]?.trim() ?? '';
  const operations = await page.locator('.opblock').count();
  const method = (await sendRoute.first().locator('.opblock-summary-method').innerText()).trim();
  if (method !== SEND_ROUTE.method) problems.push(`send route shows method ${method}`);
  if (title !== 'Outbound API') problems.push(`page heading is "${title}"`);
  // Opened, the operation shows the reference's request example.
  await sendRoute.first().locator('.opblock-summary').click();
  await sendRoute
    .first()
    .getByText(REFERENCE_EXAMPLE_KEY)
    .first()
    .waitFor({ state: 'visible', timeout: RENDER_TIMEOUT_MS });

  const foreign = requested.filter((url) => !url.startsWith(server.url));
  if (foreign.length > 0) problems.push(`requests left the API: ${foreign.join(', ')}`);
  const cspViolations = consoleErrors.filter((text) => /Content Security Policy/i.test(text));
  if (consoleErrors.length > 0) problems.push(`console errors: ${consoleErrors.join(' | ')}`);

  mkdirSync(new URL('.', SCREENSHOT), { recursive: true });
  await page.screenshot({ path: SCREENSHOT.pathname });

  out(`docs check: ${problems.length === 0 ? 'OK' : 'FAILED'}`);
  out(`  chromium:        ${executablePath} (${browser.version()})`);
  out(`  page:            ${server.url}/docs, heading "${title}"`);
  out(
    `  operations:      ${operations} listed, ${SEND_ROUTE.method} ${SEND_ROUTE.path} among them`,
  );
  out(`  send example:    shown (idempotency_key "${REFERENCE_EXAMPLE_KEY}")`);
  out(`  requests:        ${requested.length}, ${foreign.length} to another origin`);
  out(`  console errors:  ${consoleErrors.length} (CSP violations: ${cspViolations.length})`);
  out(`  screenshot:      ${SCREENSHOT.pathname}`);
} catch (error) {
  problems.push(error instanceof Error ? error.message : String(error));
  out('docs check: FAILED');
} finally {
  await browser.close();
  await server.close();
  if (redis.status === 'ready') await closeQueues(queues);
  redis.disconnect();
  await db.destroy();
}
for (const problem of problems) out(`  problem: ${problem}`);
process.exit(problems.length === 0 ? 0 : 1);
