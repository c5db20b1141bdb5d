// The one logging interface every package writes to (winston loggers fit it), a logger that drops
// everything, and the one way an unknown thrown value becomes text for a log line or a message.
// Pure: no I/O here (the kube layer's default winston logger lives in kube/log.ts).

/**
 * What l2lb code logs to. A part that never logs some level takes a narrowing of it
 * (`Pick<Logger, 'info' | 'warn' | 'debug'>`), not an interface of its own.
 */
export interface Logger {
  error(message: string, meta?: Record<string, unknown>): void;
  warn(message: string, meta?: Record<string, unknown>): void;
  info(message: string, meta?: Record<string, unknown>): void;
  debug(message: string, meta?: Record<string, unknown>): void;
}

/** A logger that drops everything. */
export const silentLogger: Logger = { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined };

export interface ErrorTextOptions {
  /** For an Error, its stack (which starts with the message) where it has one. */
  readonly stack?: boolean;
}

/**
 * The text of a caught value: an Error's message (or stack), anything else as String() gives it.
 * Never throws, whatever was thrown (a getter or toString that throws, an object without a prototype):
 * it is called in catch blocks, where a second exception would hide the first.
 */
export function errorText(e: unknown, options: ErrorTextOptions = {}): string {
  try {
    if (e instanceof Error) return String(options.stack ? (e.stack ?? e.message) : e.message);
    return String(e);
  } catch {
    return unprintable(e);
  }
}

function unprintable(e: unknown): string {
  try {
    return Object.prototype.toString.call(e);
  } catch {
    return '[unprintable value]';
  }
}
