export { envSchema, type Env } from './env.schema.ts';
export { ConfigError, loadConfig, loadConfigOrExit, type Config } from './load-config.ts';
export { createLogger, type Logger, type LoggerOptions } from './logger.ts';
