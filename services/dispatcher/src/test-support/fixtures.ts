import { Writable } from 'node:stream';
import {
  createOrganization,
  createSend,
  createSender,
  type CreatedSend,
  type Db,
  type Delivery,
} from '@outbound/db';
import {
  CredentialsCipher,
  SANDBOX_RATE_LIMIT,
  type RateLimit,
  type SenderRole,
  type SenderStatus,
} from '@outbound/domain';
import { enqueueDeliveries, type Queues } from '@outbound/queue';
import { waitFor } from '@outbound/test/wait-for';

/** The credentials key of dispatchers under test (in-process and child processes alike). */
export const TEST_CREDENTIALS_KEY = Buffer.alloc(32, 'dispatcher-tests').toString('base64');
export const testCipher = new CredentialsCipher(TEST_CREDENTIALS_KEY);

export interface SeededSender {
  organizationId: string;
  senderId: string;
}

/** A sandbox WhatsApp session in a new organization (WORKING, sending, sandbox rate limit). */
export async function seedSender(
  db: Db,
  options: { role?: SenderRole; status?: SenderStatus; rateLimit?: RateLimit } = {},
): Promise<SeededSender> {
  const organization = await createOrganization(db, 'Dispatcher test');
  const sender = await createSender(db, testCipher, {
    organizationId: organization.id,
    channel: 'whatsapp',
    provider: 'sandbox',
    name: 'session',
    role: options.role ?? 'sending',
    status: options.status ?? 'WORKING',
    rateLimit: options.rateLimit ?? SANDBOX_RATE_LIMIT,
  });
  return { organizationId: organization.id, senderId: sender.id };
}

/** A WhatsApp send to the given chat ids, committed and then enqueued, as the API does. */
export async function createQueuedSend(
  db: Db,
  queues: Queues | undefined,
  sender: SeededSender,
  recipients: readonly string[],
  text = 'Hello from the dispatcher tests',
): Promise<CreatedSend> {
  const created = await createSend(db, {
    organizationId: sender.organizationId,
    senderId: sender.senderId,
    channel: 'whatsapp',
    origin: 'whatsapp_send',
    content: { text, media: [] },
    recipients: recipients.map((recipient) => ({ recipient })),
  });
  if (queues !== undefined) {
    await enqueueDeliveries(
      queues,
      created.deliveries.map((delivery) => ({
        delivery_id: delivery.id,
        organization_id: delivery.organization_id,
      })),
    );
  }
  return created;
}

export function deliveriesOf(db: Db, sendId: string): Promise<Delivery[]> {
  return db
    .selectFrom('deliveries')
    .selectAll()
    .where('send_id', '=', sendId)
    .orderBy('id')
    .execute();
}

/** Resolves once every delivery of the sends has left `queued` and `sending`. */
export async function waitUntilFinished(
  db: Db,
  sendIds: readonly string[],
  timeoutMs = 15_000,
): Promise<Delivery[]> {
  return waitFor(async () => {
    const rows = await db
      .selectFrom('deliveries')
      .selectAll()
      .where('send_id', 'in', sendIds)
      .orderBy('id')
      .execute();
    return rows.every((row) => row.status !== 'queued' && row.status !== 'sending')
      ? rows
      : undefined;
  }, timeoutMs);
}

/** Sandbox messages recorded for each delivery id (deliveries with none are absent). */
export async function sandboxCounts(
  db: Db,
  deliveryIds: readonly string[],
): Promise<Map<string, number>> {
  if (deliveryIds.length === 0) return new Map();
  const rows = await db
    .selectFrom('sandbox_messages')
    .select(['delivery_id', (eb) => eb.fn.countAll<number>().as('count')])
    .where('delivery_id', 'in', deliveryIds)
    .groupBy('delivery_id')
    .execute();
  return new Map(rows.map((row) => [row.delivery_id!, Number(row.count)]));
}

export { waitFor };

export interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

/** A stream for `createLogger` that keeps every JSON line written to it. */
export function captureLogs(): { destination: Writable; lines: LogLine[]; raw: string[] } {
  const lines: LogLine[] = [];
  const raw: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line === '') continue;
        raw.push(line);
        lines.push(JSON.parse(line) as LogLine);
      }
      callback();
    },
  });
  return { destination, lines, raw };
}
