import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import {
  createOrganization,
  createSend,
  createSender,
  type CreatedSend,
  type Db,
  type Delivery,
} from '@outbound/db';
import { CredentialsCipher } from '@outbound/domain';
import { enqueueDeliveries, type Queues } from '@outbound/queue';
import type { WahaCall, WahaSentMessage } from '@outbound/fakes/waha-server';
import type { LogLine, ServiceProcess } from '@outbound/test/service-process';

/** The dispatcher's entry point, run as its own process as production runs it. */
export const DISPATCHER_MAIN = fileURLToPath(
  new URL('../../services/dispatcher/src/main.ts', import.meta.url),
);

/** The credentials key the chaos tests give their dispatchers. */
export const CHAOS_CREDENTIALS_KEY = Buffer.alloc(32, 'chaos-tests').toString('base64');
const cipher = new CredentialsCipher(CHAOS_CREDENTIALS_KEY);

/** The `X-Api-Key` the fake WAHA servers of these tests require. */
export const WAHA_API_KEY = 'chaos-waha-key';

export interface WahaSession {
  organizationId: string;
  senderId: string;
}

/** A WAHA session (WORKING, sending) in a new organization, pointing at `baseUrl`. */
export async function seedWahaSession(
  db: Db,
  options: { baseUrl: string; perSecond: number },
): Promise<WahaSession> {
  const organization = await createOrganization(db, 'Chaos');
  const sender = await createSender(db, cipher, {
    organizationId: organization.id,
    channel: 'whatsapp',
    provider: 'waha',
    name: 'chaos session',
    rateLimit: { max: options.perSecond, window_ms: 1_000 },
    settings: { base_url: options.baseUrl, session: 'default' },
    credentials: { api_key: WAHA_API_KEY },
  });
  return { organizationId: organization.id, senderId: sender.id };
}

/** A WhatsApp text send to `chatIds`, committed and then enqueued, as the API does. */
export async function createWahaSend(
  db: Db,
  queues: Queues,
  session: WahaSession,
  chatIds: readonly string[],
): Promise<CreatedSend> {
  const created = await createSend(db, {
    organizationId: session.organizationId,
    senderId: session.senderId,
    channel: 'whatsapp',
    origin: 'whatsapp_send',
    content: { text: 'Nothing lost, nothing doubled', media: [] },
    recipients: chatIds.map((recipient) => ({ recipient })),
  });
  await enqueueDeliveries(
    queues,
    created.deliveries.map((delivery) => ({
      delivery_id: delivery.id,
      organization_id: delivery.organization_id,
    })),
  );
  return created;
}

export function deliveriesOfSends(db: Db, sendIds: readonly string[]): Promise<Delivery[]> {
  return db
    .selectFrom('deliveries')
    .selectAll()
    .where('send_id', 'in', sendIds)
    .orderBy('id')
    .execute();
}

/**
 * Kills a dispatcher with SIGKILL and names the claims it left without an outcome, as
 * `<delivery id>/<attempt>`: those it logged "delivery sending" for and logged nothing else
 * about since (sent, failed, queued for a retry). Those, and only those, may have reached the
 * provider without their outcome being recorded. A claim committed just before the kill but
 * not yet logged made no provider call, since the call comes after the log line.
 */
export async function killMidFlight(child: ServiceProcess): Promise<string[]> {
  const stopped = await child.stop('SIGKILL');
  if (stopped.signal !== 'SIGKILL') {
    throw new Error(`the dispatcher had exited by itself (${stopped.code}): ${child.stderr()}`);
  }
  // Its last lines may still be in the pipe when the exit is reported.
  const stdout = child.child.stdout;
  if (stdout !== null && !stdout.readableEnded) await once(stdout, 'end');
  await new Promise((resolve) => setImmediate(resolve));
  const claimed = new Set<string>();
  const settled = new Set<string>();
  for (const line of child.lines) {
    if (typeof line.delivery_id !== 'string' || typeof line.attempt !== 'number') continue;
    const claim = `${line.delivery_id}/${line.attempt}`;
    (line.msg === 'delivery sending' ? claimed : settled).add(claim);
  }
  return [...claimed].filter((claim) => !settled.has(claim));
}

/** How many deliveries of the sends are still `queued` or `sending`. */
export async function unfinishedCount(db: Db, sendIds: readonly string[]): Promise<number> {
  const row = await db
    .selectFrom('deliveries')
    .select((eb) => eb.fn.countAll<string>().as('count'))
    .where('send_id', 'in', sendIds)
    .where('status', 'in', ['queued', 'sending'])
    .executeTakeFirstOrThrow();
  return Number(row.count);
}

/** The ids of the messages the fake accepted, by chat id (one chat id per delivery here). */
export function messagesByChat(messages: readonly WahaSentMessage[]): Map<string, string[]> {
  const byChat = new Map<string, string[]>();
  for (const message of messages) {
    byChat.set(message.chatId, [...(byChat.get(message.chatId) ?? []), message.id]);
  }
  return byChat;
}

/** How many calls the fake received for each chat id, whatever it answered. */
export function callsByChat(calls: readonly WahaCall[]): Map<string, number> {
  const byChat = new Map<string, number>();
  for (const call of calls) {
    const chatId = (call.body as { chatId?: unknown } | undefined)?.chatId;
    if (typeof chatId === 'string') byChat.set(chatId, (byChat.get(chatId) ?? 0) + 1);
  }
  return byChat;
}

export { waitFor } from '../support/wait-for.ts';

/** `child.waitForLog`, failing with what the process did log instead, to tell why. */
export async function expectLog(
  child: ServiceProcess,
  what: string,
  match: (line: LogLine) => boolean,
  timeoutMs = 20_000,
): Promise<LogLine> {
  try {
    return await child.waitForLog(match, timeoutMs);
  } catch (error) {
    const logged = child.lines.map(
      (line) => `${line.msg} ${(line.err as { message?: string } | undefined)?.message ?? ''}`,
    );
    throw new Error(`no "${what}" in the log; it says:\n${logged.join('\n')}`, { cause: error });
  }
}

/** Prints a test's measured figures on one line each, so a report can quote them. */
export function printFigures(title: string, figures: Record<string, number | string>): void {
  const lines = Object.entries(figures).map(([name, value]) => `  ${name}: ${value}`);
  // eslint-disable-next-line no-console -- the figures are what this test reports
  console.info(`${title}\n${lines.join('\n')}`);
}
