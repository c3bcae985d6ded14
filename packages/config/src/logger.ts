import { pino, type Logger } from 'pino';
import type { Config } from './load-config.ts';

export type { Logger } from 'pino';

export interface LoggerOptions {
  name: string;
  /** Where lines go; defaults to stdout. Tests pass a stream to read what was logged. */
  destination?: NodeJS.WritableStream;
}

/** Never log these, wherever they appear in a logged object. */
const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
  '*.password',
  '*.credentials',
  '*.api_key',
];

/** JSON lines, or pretty lines when writing to a terminal (or when LOG_FORMAT=pretty). */
export function createLogger(
  config: Pick<Config, 'LOG_LEVEL' | 'LOG_FORMAT'>,
  options: LoggerOptions,
): Logger {
  const destination = options.destination ?? process.stdout;
  const pretty =
    config.LOG_FORMAT === 'pretty' ||
    (config.LOG_FORMAT === 'auto' && options.destination === undefined && process.stdout.isTTY);
  const base = {
    name: options.name,
    level: config.LOG_LEVEL,
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
  };
  if (pretty) {
    return pino({ ...base, transport: { target: 'pino-pretty', options: { colorize: true } } });
  }
  return pino(base, destination as pino.DestinationStream);
}
