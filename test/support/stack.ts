import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { startServiceProcess, type ServiceProcess } from './service-process.ts';

const run = promisify(execFile);
const entry = (path: string) => fileURLToPath(new URL(`../../${path}`, import.meta.url));

/** What `outbound seed-demo --json` prints (the fields these tests read). */
export interface SeededDemo {
  organization_id: string;
  api_key: string;
  actor_user_id: string;
  second_actor: { api_key: string; actor_user_id: string };
  sessions: { working: string; receiving: string; stopped: string };
  group_ids: string[];
  /** Agents of the organization: authors and targets of conversation drafts. */
  agents: { id: number; email: string }[];
  /** An email conversation with one inbound message. */
  conversation_id: number;
}

export interface Stack {
  url: string;
  api: ServiceProcess;
  dispatcher: ServiceProcess;
  /** Where the dispatcher's own listener (`/metrics`, `/healthz`, `/readyz`) answers. */
  dispatcherUrl: string;
  /** Runs the CLI's `seed-demo --json` against the stack's database. */
  seedDemo(): Promise<SeededDemo>;
}

/** The URL a dispatcher process logged for its HTTP listener (before "dispatcher ready"). */
export async function dispatcherHttpUrl(dispatcher: ServiceProcess): Promise<string> {
  const line = await dispatcher.waitForLog((logged) =>
    logged.msg.startsWith('dispatcher http listening'),
  );
  return String(line.url);
}

/** One more dispatcher process, resolved once it is ready. */
export async function startDispatcher(env: Record<string, string>): Promise<ServiceProcess> {
  const dispatcher = startServiceProcess(entry('services/dispatcher/src/main.ts'), env);
  try {
    await dispatcher.waitForLog((line) => line.msg === 'dispatcher ready');
    return dispatcher;
  } catch (error) {
    await dispatcher.stop('SIGKILL');
    throw error;
  }
}

/** The API and one dispatcher as their own processes, as `pnpm start` runs them, once both are ready. */
export async function startStack(env: Record<string, string>): Promise<Stack> {
  const api = startServiceProcess(entry('services/api/src/main.ts'), env);
  const dispatcher = startServiceProcess(entry('services/dispatcher/src/main.ts'), env);
  try {
    const listening = await api.waitForLog((line) => typeof line.url === 'string');
    await dispatcher.waitForLog((line) => line.msg === 'dispatcher ready');
    return {
      url: String(listening.url),
      api,
      dispatcher,
      dispatcherUrl: await dispatcherHttpUrl(dispatcher),
      seedDemo: async () => {
        const { stdout } = await run(
          process.execPath,
          [entry('services/cli/src/main.ts'), 'seed-demo', '--json'],
          { env: { PATH: process.env.PATH ?? '', ...env, LOG_LEVEL: 'silent' } },
        );
        return JSON.parse(stdout) as SeededDemo;
      },
    };
  } catch (error) {
    await Promise.all([api.stop('SIGKILL'), dispatcher.stop('SIGKILL')]);
    throw error;
  }
}
