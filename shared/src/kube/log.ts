// The logging interface the kube layer writes to (winston loggers fit it), and a default JSON logger.

import winston from 'winston';

export interface Logger {
  error(message: string, meta?: Record<string, unknown>): unknown;
  warn(message: string, meta?: Record<string, unknown>): unknown;
  info(message: string, meta?: Record<string, unknown>): unknown;
  debug(message: string, meta?: Record<string, unknown>): unknown;
}

let fallback: Logger | undefined;

/** A winston JSON logger on stderr (level from L2LB_LOG_LEVEL, default info), created on first use. */
export function defaultLogger(): Logger {
  fallback ??= winston.createLogger({
    level: process.env['L2LB_LOG_LEVEL'] ?? 'info',
    format: winston.format.combine(winston.format.timestamp(), winston.format.json()),
    defaultMeta: { component: 'kube' },
    transports: [new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'debug'] })],
  });
  return fallback;
}

/** A logger that drops everything. */
export const silentLogger: Logger = { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined };
