// l2lb-speaker command line. `announce` runs the layer-2 announcer without Kubernetes: it answers
// ARP/NDP for the given IPs until SIGTERM and prints JSON lines (start, announced, conflict,
// link, stats) on stdout; logs go to stderr as winston JSON.
import { parseArgs } from 'node:util';
import winston from 'winston';
import { Announcer } from './l2/announcer.js';
import { errorText, type Logger } from '@l2lb/shared/log';
import { nativeListInterfaces, nativeSocketFactory, nativeWatchLinks } from './l2/native.js';
import { canonicalIp } from './l2/addr.js';

const USAGE = `usage: l2lb-speaker announce --interface IF [--interface IF...] --ip IP [--ip IP...]
         [--garp-count N] [--garp-interval MS] [--refresh-interval MS]
         [--rescan-interval MS] [--stats-interval MS] [--log-level LEVEL] [--no-arp-reflex]
       l2lb-speaker run --node-name NAME [flags]   (the per-node speaker; run --help lists the flags)

  Answers ARP/NDP for the IPs on the interfaces (default: all eligible interfaces) until SIGTERM.
  Prints JSON lines on stdout: start, announced, conflict, link, stats (also on SIGUSR1).
  --no-arp-reflex answers ARP from JavaScript only, not in the addon right after receive
  (slower by the JS call; for diagnosis and benchmarks).`;

function out(event: string, data: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ event, time: new Date().toISOString(), ...data })}\n`);
}

function intOption(v: string | undefined, name: string, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--${name}: expected a non-negative integer, got '${v}'`);
  return n;
}

function makeLogger(level: string): Logger {
  const w = winston.createLogger({
    level,
    format: winston.format.combine(winston.format.timestamp(), winston.format.json()),
    defaultMeta: { component: 'l2-announcer' },
    transports: [new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'verbose', 'debug', 'silly'] })],
  });
  return {
    debug: (m, meta) => w.debug(m, meta),
    info: (m, meta) => w.info(m, meta),
    warn: (m, meta) => w.warn(m, meta),
    error: (m, meta) => w.error(m, meta),
  };
}

export function announceCommand(argv: string[]): number {
  const { values } = parseArgs({
    args: argv,
    options: {
      interface: { type: 'string', multiple: true },
      ip: { type: 'string', multiple: true },
      'garp-count': { type: 'string' },
      'garp-interval': { type: 'string' },
      'refresh-interval': { type: 'string' },
      'rescan-interval': { type: 'string' },
      'stats-interval': { type: 'string' },
      'log-level': { type: 'string' },
      'no-arp-reflex': { type: 'boolean' },
      help: { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const ips = (values.ip ?? []).map((ip) => canonicalIp(ip));
  if (ips.length === 0) throw new Error('at least one --ip is required');
  const logger = makeLogger(values['log-level'] ?? 'info');
  const announcer = new Announcer({
    socketFactory: nativeSocketFactory(),
    listInterfaces: nativeListInterfaces,
    watchLinks: nativeWatchLinks,
    interfaces: values.interface,
    garpCount: intOption(values['garp-count'], 'garp-count', 5),
    garpIntervalMs: intOption(values['garp-interval'], 'garp-interval', 1100),
    refreshIntervalMs: intOption(values['refresh-interval'], 'refresh-interval', 0),
    rescanIntervalMs: intOption(values['rescan-interval'], 'rescan-interval', 2000),
    arpReflex: values['no-arp-reflex'] !== true,
    logger,
  });
  announcer.on('announced', (e) => out('announced', e));
  announcer.on('withdrawn', (e) => out('withdrawn', e));
  announcer.on('conflict', (e) => out('conflict', { ...e }));
  announcer.on('link', (e) => out('link', e));
  announcer.start();
  const interfaces = announcer.interfaces();
  if (values.interface && values.interface.length > 0 && interfaces.length === 0) {
    announcer.stop();
    throw new Error(`none of the interfaces can be used: ${values.interface.join(', ')} (missing, down, or no MAC)`);
  }
  out('start', { pid: process.pid, interfaces, ips });
  for (const ip of ips) announcer.announce(ip);

  const printStats = (): void => out('stats', { ...announcer.stats() });
  const statsEvery = intOption(values['stats-interval'], 'stats-interval', 0);
  const statsTimer = statsEvery > 0 ? setInterval(printStats, statsEvery) : undefined;
  process.on('SIGUSR1', printStats);
  const shutdown = (signal: string): void => {
    if (statsTimer) clearInterval(statsTimer);
    printStats();
    announcer.stop();
    out('stop', { signal });
    process.exit(0);
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  return -1; // keeps running
}

export function main(argv: string[]): void {
  const [cmd, ...rest] = argv;
  if (cmd === 'run') {
    // Loaded on demand: `announce` stays free of the Kubernetes and memberlist modules (RSS).
    import('./run/process.js')
      .then(({ runCommand }) => runCommand(rest))
      .then(
        (code) => process.exit(code),
        (e: unknown) => {
          console.error(`l2lb-speaker run: ${errorText(e, { stack: true })}`);
          process.exit(1);
        },
      );
    return;
  }
  try {
    if (cmd === 'announce') {
      const rc = announceCommand(rest);
      if (rc >= 0) process.exit(rc);
      return;
    }
    console.error(USAGE);
    process.exit(cmd === undefined || cmd === '--help' || cmd === 'help' ? 0 : 2);
  } catch (e) {
    const err = e as Error & { code?: string };
    out('error', { message: err.message, code: err.code });
    console.error(`l2lb-speaker: ${err.message}`);
    process.exit(1);
  }
}
