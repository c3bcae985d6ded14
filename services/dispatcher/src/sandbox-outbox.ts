import type { SandboxOutbox } from '@outbound/channels';
import { type Executor, recordSandboxMessage } from '@outbound/db';

/** The sandbox provider's outbox: what it "delivers" lands in `sandbox_messages`. */
export function createSandboxOutbox(db: Executor): SandboxOutbox {
  return { record: (entry) => recordSandboxMessage(db, entry) };
}
