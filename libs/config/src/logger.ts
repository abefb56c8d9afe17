import { ConsoleLogger, LogLevel } from '@nestjs/common';
import type { AppConfig } from './app-config';

const NEST_LEVELS: LogLevel[] = ['fatal', 'error', 'warn', 'log', 'debug', 'verbose'];
const CUT: Record<string, number> = { silent: 0, fatal: 1, error: 2, warn: 3, info: 4, debug: 5, trace: 6 };

/** Nest's logger writing one JSON object per line, at the configured level. */
export function createLogger(config: Pick<AppConfig, 'logging'>): ConsoleLogger {
  return new ConsoleLogger({ json: true, logLevels: NEST_LEVELS.slice(0, CUT[config.logging.level] ?? 4) });
}
