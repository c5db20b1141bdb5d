// How the controller and the speaker run: start, serve until SIGTERM/SIGINT, stop gracefully within a
// deadline, flush the log, and give the exit code.
import winston, { type Logger } from 'winston';
import { errorText } from './log.js';

export interface ProcessLoggerOptions {
  /** `defaultMeta.component` of every line. */
  readonly component: string;
  readonly level: string;
  /** json: one winston JSON object per line; text: `<time> <level> <message>`. */
  readonly format: 'json' | 'text';
  /** In text format, append the line's other fields as JSON (the component aside). */
  readonly textMeta?: boolean;
}

/** The logger of a process (stdout). */
export function processLogger(o: ProcessLoggerOptions): Logger {
  const text = winston.format.printf((i) => {
    const { level, message, timestamp, component, ...rest } = i;
    void component;
    const meta = o.textMeta && Object.keys(rest).length > 0 ? ` ${JSON.stringify(rest)}` : '';
    return `${String(timestamp)} ${level} ${String(message)}${meta}`;
  });
  return winston.createLogger({
    level: o.level,
    defaultMeta: { component: o.component },
    format: winston.format.combine(winston.format.timestamp(), o.format === 'json' ? winston.format.json() : text),
    transports: [new winston.transports.Console()],
  });
}

export interface Service {
  start(): Promise<void>;
  stop(): Promise<void>;
}

export interface LifecycleOptions {
  readonly log: Logger;
  /** Logged as `<SIGNAL> received, <stopping>`. */
  readonly stopping: string;
  /** Logged once start() resolves. */
  readonly ready: string;
  /** Prefix of the error logged when start() rejects (the process then stops and exits 1). */
  readonly failed: string;
  /** A stop still running after `ms` ends the process anyway, with `code` (and `message` logged, if any). */
  readonly deadline: { readonly ms: number; readonly code: number; readonly message?: string };
  /** Runs after a graceful stop (closing the probe server, say). */
  readonly afterStop?: () => Promise<void>;
  /** Settles when the service cannot go on: it is logged, stopped, and the exit code is 1. */
  readonly failure?: Promise<Error>;
}

/** Starts `service` and resolves with the exit code once it has been stopped by a signal or failed. */
export async function runUntilSignal(service: Service, o: LifecycleOptions): Promise<number> {
  let resolveDone: (code: number) => void = () => undefined;
  const done = new Promise<number>((resolve) => {
    resolveDone = resolve;
  });
  let stopping = false;
  const stop = (code: number): void => {
    const timer = setTimeout(() => {
      if (o.deadline.message) o.log.error(o.deadline.message);
      resolveDone(o.deadline.code);
    }, o.deadline.ms);
    timer.unref();
    void service
      .stop()
      .then(() => o.afterStop?.())
      .then(
        () => {
          clearTimeout(timer);
          o.log.info('stopped');
          resolveDone(code);
        },
        (e: unknown) => {
          o.log.error(`stop failed: ${errorText(e)}`);
          resolveDone(1);
        },
      );
  };
  const onSignal = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    o.log.info(`${signal} received, ${o.stopping}`);
    stop(0);
  };
  // on, not once: a second signal during the graceful stop must not fall back to the default (kill).
  const onTerm = (): void => onSignal('SIGTERM');
  const onInt = (): void => onSignal('SIGINT');
  process.on('SIGTERM', onTerm);
  process.on('SIGINT', onInt);
  void o.failure?.then((e) => {
    o.log.error(`${o.failed}: ${errorText(e)}`);
    if (stopping) return;
    stopping = true;
    stop(1);
  });
  service.start().then(
    () => o.log.info(o.ready),
    (e: unknown) => {
      o.log.error(`${o.failed}: ${errorText(e)}`);
      if (stopping) return;
      stopping = true;
      stop(1);
    },
  );
  const code = await done;
  await new Promise<void>((resolve) => {
    o.log.on('finish', resolve).end();
    setTimeout(resolve, 200).unref();
  });
  // Without a listener a signal takes its default action (kill): a second SIGTERM that landed after our
  // listeners were removed, before the caller's process.exit(), ended the process "killed by SIGTERM"
  // instead of exit 0 (speaker integration flake, twice). So a do-nothing listener stays for good.
  ignoreLateSignals();
  process.off('SIGTERM', onTerm);
  process.off('SIGINT', onInt);
  return code;
}

let lateSignalsIgnored = false;
/** Installed once per process: a signal after the stop finished (the process is about to exit) does nothing. */
function ignoreLateSignals(): void {
  if (lateSignalsIgnored) return;
  lateSignalsIgnored = true;
  const ignore = (): void => undefined;
  process.on('SIGTERM', ignore);
  process.on('SIGINT', ignore);
}
