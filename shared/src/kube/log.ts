// The kube layer's default logger: winston JSON on stderr. The Logger interface itself is in ../log.ts.

import winston from 'winston';
import type { Logger } from '../log.js';

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
