// l2lb-memberlist agent: a memberlist node that prints one JSON object per line on stdout, in the same
// shape as the Go test peer (mlpeer), so tests and benchmarks drive both alike. Logs go to stderr.
import { lookup } from 'node:dns/promises';
import net from 'node:net';
import winston from 'winston';
import { errorText } from '@l2lb/shared/log';
import { ProfileName, Timings, makeConfig } from './config.js';
import { Keyring, keyFromHex, metallbKey } from './crypto.js';
import { MemberInfo } from './memberlist.js';
import { MemberlistNode, parseHostPort } from './node.js';
import { defaultWireOptions } from './wire.js';

const USAGE = `usage: l2lb-memberlist agent --name N --bind IP --port P [--advertise IP] [--join host:port,...]
    [--secret S | --key-hex H] [--profile lan|fast] [--label L] [--meta M]
    [--members-interval MS] [--leave-timeout MS] [--compression true|false]
    [--verify-incoming true|false] [--verify-outgoing true|false]
    [--timing probeIntervalMs=100,suspicionMult=3,...] [--log-level warn]`;

function emit(v: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ ...v, ts: new Date().toISOString() })}\n`);
}

function nodeJson(n: MemberInfo): Record<string, unknown> {
  return { name: n.name, addr: n.addr, port: n.port, meta: n.meta === null ? '' : Buffer.from(n.meta).toString('utf8') };
}

function parseArgs(argv: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (!a.startsWith('--')) throw new Error(`unexpected argument "${a}"\n${USAGE}`);
    const eq = a.indexOf('=');
    if (eq > 0) {
      out.set(a.slice(2, eq), a.slice(eq + 1));
      continue;
    }
    const v = argv[i + 1];
    if (v === undefined || v.startsWith('--')) throw new Error(`option ${a} needs a value\n${USAGE}`);
    out.set(a.slice(2), v);
    i++;
  }
  return out;
}

function int(s: string | undefined, def: number, what: string): number {
  if (s === undefined) return def;
  const n = Number(s);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${what}: "${s}" is not a non-negative number`);
  return n;
}

export async function main(argv: string[]): Promise<void> {
  if (argv[0] !== 'agent') throw new Error(USAGE);
  const args = parseArgs(argv.slice(1));
  const bind = args.get('bind') ?? '127.0.0.1';
  if (net.isIP(bind) === 0) throw new Error(`--bind must be an IP address, got "${bind}"`);
  const port = int(args.get('port'), 7946, '--port');
  const name = args.get('name') ?? (await import('node:os')).hostname();
  const prof = (args.get('profile') ?? 'fast') as ProfileName;
  if (prof !== 'lan' && prof !== 'fast') throw new Error(`--profile must be lan or fast`);
  let keyring: Keyring | null = null;
  if (args.has('secret') && args.get('secret') !== '') keyring = new Keyring([metallbKey(args.get('secret') as string)]);
  // --key-hex k1,k2,...: the first key encrypts, all of them decrypt (key rotation).
  if (args.has('key-hex')) keyring = new Keyring((args.get('key-hex') as string).split(',').map((k) => keyFromHex(k.trim())));
  const label = args.get('label') ?? '';
  if (Buffer.byteLength(label) > 255) throw new Error('--label is longer than 255 bytes');
  const meta = args.get('meta');
  const advertise = args.get('advertise') ?? bind;
  if (net.isIP(advertise) === 0 || advertise === '0.0.0.0' || advertise === '::') {
    throw new Error(`--advertise must be a concrete IP address (needed when --bind is a wildcard), got "${advertise}"`);
  }
  const cfg = makeConfig(
    name,
    advertise,
    port,
    {
      meta: meta === undefined || meta === '' ? null : new TextEncoder().encode(meta),
      wire: defaultWireOptions({
        keyring,
        label,
        compression: (args.get('compression') ?? 'true') !== 'false',
        verifyIncoming: (args.get('verify-incoming') ?? 'true') !== 'false',
        verifyOutgoing: (args.get('verify-outgoing') ?? 'true') !== 'false',
      }),
    },
    prof,
  );
  const timing = args.get('timing');
  if (timing !== undefined) {
    for (const kv of timing.split(',')) {
      const [k, v] = kv.split('=');
      if (k === undefined || v === undefined || !(k in cfg) || typeof (cfg as unknown as Record<string, unknown>)[k] !== 'number') {
        throw new Error(`--timing: unknown setting "${kv}"`);
      }
      (cfg as unknown as Record<string, number>)[k as keyof Timings] = int(v, 0, `--timing ${k}`);
    }
  }
  const membersInterval = int(args.get('members-interval'), 5000, '--members-interval');
  const leaveTimeout = int(args.get('leave-timeout'), 2000, '--leave-timeout');

  const logger = winston.createLogger({
    level: args.get('log-level') ?? 'warn',
    format: winston.format.combine(winston.format.timestamp(), winston.format.json()),
    defaultMeta: { component: 'memberlist', node: name },
    transports: [new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'debug', 'verbose', 'silly'] })],
  });

  const node = new MemberlistNode(
    cfg,
    { bindIp: bind, bindPort: port, logger },
    {
      join: (n) => emit({ ev: 'join', node: nodeJson(n) }),
      leave: (n, reason) => emit({ ev: 'leave', reason, node: nodeJson(n) }),
      update: (n) => emit({ ev: 'update', node: nodeJson(n) }),
      suspect: (n) => emit({ ev: 'suspect', node: nodeJson(n) }),
    },
  );
  await node.start();
  const self = node.ml.node(name);
  emit({
    ev: 'start',
    name,
    addr: self?.addr ?? advertise,
    addr_len: net.isIPv6(advertise) ? 16 : 4,
    port,
    encrypted: keyring !== null,
    key_bits: keyring === null ? 0 : (keyring.primary?.length ?? 0) * 8,
    vsn: [1, 5, 2, 0, 0, 0],
    lib: 'l2lb-memberlist',
    label,
    profile: prof,
  });

  let stopping = false;
  const joinList = (args.get('join') ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (joinList.length > 0) {
    void (async () => {
      for (let attempt = 1; ; attempt++) {
        const addrs: Array<{ ip: string; port: number }> = [];
        const errs: string[] = [];
        for (const j of joinList) {
          try {
            const hp = parseHostPort(j, port);
            const ip = net.isIP(hp.host) !== 0 ? hp.host : (await lookup(hp.host)).address;
            addrs.push({ ip, port: hp.port });
          } catch (e) {
            errs.push(errorText(e));
          }
        }
        const [n, errors] = await new Promise<[number, string[]]>((r) => node.ml.join(addrs, (c, e) => r([c, e])));
        errs.push(...errors);
        const ev: Record<string, unknown> = { ev: 'joined', contacted: n, attempt };
        if (errs.length > 0) ev.err = errs.join('; ');
        emit(ev);
        if (n > 0 || attempt >= 10 || stopping) return;
        await new Promise((r) => setTimeout(r, 1000));
      }
    })();
  }

  let membersTimer: NodeJS.Timeout | null = null;
  if (membersInterval > 0) {
    membersTimer = setInterval(() => {
      const ms = node.ml.members().map(nodeJson);
      emit({ ev: 'members', n: ms.length, members: ms, health: node.ml.healthScore(), stats: node.ml.stats });
    }, membersInterval);
  }

  const stop = (sig: string): void => {
    if (stopping) return;
    stopping = true;
    if (membersTimer !== null) clearInterval(membersTimer);
    void (async () => {
      await node.leave(leaveTimeout);
      emit({ ev: 'left', signal: sig });
      await node.close();
      emit({ ev: 'exit', drops: Object.fromEntries(node.ml.drops), stats: node.ml.stats });
      process.exit(0);
    })();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
