// `l2lb apiserver --listen 127.0.0.1:PORT [--data DIR] [--kubeconfig-out FILE] [--token T] [--tls-cert F --tls-key F]`
// Runs the embedded Kubernetes API server until SIGINT/SIGTERM; prints where the kubeconfig is.

import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isIP } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { errorText } from '@l2lb/shared/log';
import { renderKubeconfig } from './kubeconfig.js';
import { EmbeddedApiServer } from './server.js';
import { selfSignedCert } from './tls.js';

const USAGE = `usage: l2lb apiserver [--listen HOST:PORT] [--data DIR] [--kubeconfig-out FILE]
                      [--token TOKEN] [--tls | --tls-cert FILE --tls-key FILE] [--advertise-address IP]
                      [--bookmark-interval-ms N] [--allow-unauthenticated]
  Runs the embedded Kubernetes API server (the lab's default API) until SIGINT/SIGTERM.
  --listen          address to bind (default 127.0.0.1:18080)
  --data            directory for state.json (the lab survives restarts); in-memory when omitted
  --kubeconfig-out  write a kubeconfig for kubectl / controller / speakers (default DATA/kubeconfig)
  --token           require this bearer token (written into the kubeconfig)
  --advertise-address  address written into the kubeconfig (e.g. a bridge IP that speakers in network
                    namespaces can reach when listening on 0.0.0.0); default: the --listen host
  --tls             serve HTTPS with a self-signed certificate (kept in DATA, needs openssl)
  --tls-cert/--tls-key  serve HTTPS with this PEM certificate/key
  --allow-unauthenticated  serve a non-loopback --listen address without a token: anyone who reaches it
                    can read and change everything, Secrets included (refused without this flag)`;

interface Parsed {
  host: string;
  port: number;
  data?: string;
  kubeconfigOut?: string;
  token?: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsSelfSigned?: boolean;
  advertiseAddress?: string;
  bookmarkIntervalMs?: number;
  allowUnauthenticated?: boolean;
}

/** 127.0.0.0/8, ::1 (also IPv4-mapped) and `localhost`: addresses only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase();
  if (h === 'localhost') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice(7) : h;
  if (isIP(v4) === 4) return v4.startsWith('127.');
  return isIP(h) === 6 && /^(0{0,4}:){2,7}0{0,3}1$|^::1$/.test(h);
}

export function parseArgs(args: string[]): Parsed | string {
  const out: Parsed = { host: '127.0.0.1', port: 18080 };
  for (let i = 0; i < args.length; i++) {
    const a = args[i] ?? '';
    const eq = a.indexOf('=');
    const flag = a.startsWith('--') && eq > 0 ? a.slice(0, eq) : a;
    const inline = a.startsWith('--') && eq > 0 ? a.slice(eq + 1) : undefined;
    const value = (): string => {
      if (inline !== undefined) return inline;
      const v = args[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    try {
      switch (flag) {
        case '--listen': {
          const v = value();
          const m = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(v);
          if (!m) return `--listen wants HOST:PORT, got "${v}"`;
          out.host = (m[1] ?? '').replace(/^\[|\]$/g, '');
          out.port = Number(m[2]);
          if (out.port > 65535) return `--listen: bad port in "${v}"`;
          break;
        }
        case '--data':
          out.data = value();
          break;
        case '--kubeconfig-out':
          out.kubeconfigOut = value();
          break;
        case '--token':
          out.token = value();
          break;
        case '--tls-cert':
          out.tlsCert = value();
          break;
        case '--tls-key':
          out.tlsKey = value();
          break;
        case '--tls':
          out.tlsSelfSigned = true;
          break;
        case '--advertise-address':
          out.advertiseAddress = value();
          break;
        case '--bookmark-interval-ms':
          out.bookmarkIntervalMs = Number(value());
          break;
        case '--allow-unauthenticated':
          out.allowUnauthenticated = true;
          break;
        case '-h':
        case '--help':
          return USAGE;
        default:
          return `unknown argument "${a}"\n${USAGE}`;
      }
    } catch (e) {
      return errorText(e);
    }
  }
  if ((out.tlsCert === undefined) !== (out.tlsKey === undefined)) return '--tls-cert and --tls-key go together';
  if (out.tlsSelfSigned && out.tlsCert) return '--tls (self-signed) and --tls-cert/--tls-key exclude each other';
  // HTTPS always gets a token (generated when not given, see run()); plain HTTP without --token has none.
  const authenticated = out.token !== undefined || out.tlsSelfSigned === true || out.tlsCert !== undefined;
  if (!authenticated && !isLoopbackHost(out.host) && !out.allowUnauthenticated) {
    return (
      `--listen ${out.host}: refusing to serve a non-loopback address without authentication (anyone who reaches it ` +
      'could read and change every object, Secrets included); give --token TOKEN (or --tls), listen on 127.0.0.1, ' +
      'or pass --allow-unauthenticated if that network is private'
    );
  }
  return out;
}

export async function run(args: string[]): Promise<number> {
  const p = parseArgs(args);
  if (typeof p === 'string') {
    const help = args.includes('--help') || args.includes('-h');
    (help ? process.stdout : process.stderr).write(`${p}\n`);
    return help ? 0 : 2;
  }
  if (p.allowUnauthenticated && !p.token && !p.tlsSelfSigned && !p.tlsCert && !isLoopbackHost(p.host)) {
    process.stderr.write(
      `l2lb apiserver: WARNING: --allow-unauthenticated: serving ${p.host}:${p.port} WITHOUT AUTHENTICATION; ` +
        'anyone who can reach it can read and change every object, Secrets included\n',
    );
  }
  let tls: { cert: string; key: string } | undefined;
  try {
    if (p.tlsCert && p.tlsKey) tls = { cert: readFileSync(p.tlsCert, 'utf8'), key: readFileSync(p.tlsKey, 'utf8') };
    else if (p.tlsSelfSigned)
      tls = selfSignedCert(p.data ? resolve(p.data, 'tls') : mkdtempSync(join(tmpdir(), 'l2lb-apiserver-tls-')), p.advertiseAddress ?? p.host);
  } catch (e) {
    process.stderr.write(`l2lb apiserver: ${errorText(e)}\n`);
    return 1;
  }
  // kubectl prompts for a password on an https server without credentials: HTTPS always gets a token
  // (random, kept in DATA/token so a restarted server accepts the same kubeconfig).
  let token = p.token;
  if (!token && tls) {
    const file = p.data ? resolve(p.data, 'token') : undefined;
    token = file && existsSync(file) ? readFileSync(file, 'utf8').trim() : randomBytes(24).toString('hex');
    if (file) {
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, `${token}\n`, { mode: 0o600 });
    }
  }
  const server = new EmbeddedApiServer({
    host: p.host,
    port: p.port,
    ...(p.data ? { dataDir: resolve(p.data) } : {}),
    ...(token ? { tokens: [token] } : {}),
    ...(tls ? { tls } : {}),
    ...(p.bookmarkIntervalMs ? { bookmarkIntervalMs: p.bookmarkIntervalMs } : {}),
  });
  let url: string;
  try {
    url = await server.start();
  } catch (e) {
    process.stderr.write(`l2lb apiserver: cannot listen on ${p.host}:${p.port}: ${errorText(e)}\n`);
    return 1;
  }
  const kcPath = p.kubeconfigOut ? resolve(p.kubeconfigOut) : p.data ? resolve(p.data, 'kubeconfig') : undefined;
  if (kcPath) {
    mkdirSync(dirname(kcPath), { recursive: true });
    const advertised = p.advertiseAddress
      ? `${url.split('://')[0]}://${p.advertiseAddress.includes(':') ? `[${p.advertiseAddress}]` : p.advertiseAddress}:${server.port}`
      : url;
    writeFileSync(kcPath, renderKubeconfig({ server: advertised, ...(token ? { token } : {}), ...(tls ? { caPem: tls.cert } : {}) }), { mode: 0o600 });
  }
  process.stdout.write(`l2lb apiserver: serving ${url}${p.data ? ` (data in ${resolve(p.data)})` : ' (in memory)'}\n`);
  if (kcPath) process.stdout.write(`l2lb apiserver: kubeconfig written to ${kcPath} (export KUBECONFIG=${kcPath})\n`);
  else if (!token) process.stdout.write(`l2lb apiserver: try: kubectl --server ${url} get svc -A\n`);
  await new Promise<void>((resolveStop) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolveStop();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await server.close();
  process.stdout.write('l2lb apiserver: stopped\n');
  return 0;
}
