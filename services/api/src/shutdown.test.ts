import { Writable } from 'node:stream';
import { createLogger } from '@outbound/config';
import { describe, expect, it } from 'vitest';
import { runShutdown } from './shutdown.ts';

const logger = createLogger(
  { LOG_LEVEL: 'silent', LOG_FORMAT: 'json' },
  { name: 'test', destination: new Writable({ write: (_chunk, _encoding, done) => done() }) },
);

describe('runShutdown', () => {
  it('runs every step in order and exits 0 when all succeed', async () => {
    const ran: string[] = [];
    const step = (name: string) => ({ name, run: () => Promise.resolve(void ran.push(name)) });
    expect(await runShutdown([step('server'), step('queues'), step('db')], logger)).toBe(0);
    expect(ran).toEqual(['server', 'queues', 'db']);
  });

  it('still runs the later steps when one fails, and exits 1', async () => {
    const ran: string[] = [];
    const code = await runShutdown(
      [
        { name: 'server', run: () => Promise.reject(new Error('stuck')) },
        { name: 'db', run: () => Promise.resolve(void ran.push('db')) },
      ],
      logger,
    );
    expect(code).toBe(1);
    expect(ran).toEqual(['db']);
  });
});
