// `kubectl l2lb` (the binary kubectl-l2lb): status, explain svc/NAME, check — against any cluster
// the kubeconfig points at, reading only (what a read-only user may), saying what it could not read.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { KubeClient } from '@l2lb/shared/kube/client';
import { loadClientConfig } from '@l2lb/shared/kube/light-config';
import { errorText } from '@l2lb/shared/log';
import { ansi, buildExplain, buildStatus, configOf, formatExplain, formatStatus, plain } from './report.js';
import { takeSnapshot } from './snapshot.js';

export const PLUGIN_USAGE = `usage: kubectl l2lb COMMAND [flags]

commands:
  status                 every LoadBalancer Service, its IPs, pool and announcing node; pools, configuration, speakers, warnings
  explain svc/NAME       why a node answers for the Service: candidates, election order, successor
  check                  validate the live configuration objects as the controller does

flags:
  -o, --output json      JSON instead of tables
  -n, --namespace NS     the Service's namespace for explain (default "default")
  --l2lb-namespace NS    where l2lb runs (default l2lb-system)
  --kubeconfig PATH      (default $KUBECONFIG, then ~/.kube/config, then in-cluster)
  --speaker-metrics URL  a speaker's /metrics (repeatable); speaker Pods' IPs are tried too
`;

export interface PluginIo {
  out(s: string): void;
  err(s: string): void;
  isTTY: boolean;
}

interface Parsed {
  cmd: string;
  target?: string;
  json: boolean;
  namespace: string;
  l2lbNamespace: string;
  kubeconfig?: string;
  metrics: string[];
}

function parse(argv: readonly string[]): Parsed | { error: string } | { help: true } {
  const p: Parsed = { cmd: '', json: false, namespace: 'default', l2lbNamespace: 'l2lb-system', metrics: [] };
  const pos: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    const [flag, inline] = a.startsWith('--') && a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = (): string | undefined => inline ?? argv[++i];
    if (flag === '-h' || flag === '--help' || flag === 'help') return { help: true };
    if (flag === '-o' || flag === '--output') {
      const v = value();
      if (v !== 'json') return { error: `unknown output format "${v ?? ''}" (only json)` };
      p.json = true;
    } else if (flag === '-ojson') p.json = true;
    else if (flag === '-n' || flag === '--namespace') p.namespace = value() ?? '';
    else if (flag === '--l2lb-namespace') p.l2lbNamespace = value() ?? '';
    else if (flag === '--kubeconfig') p.kubeconfig = value() ?? '';
    else if (flag === '--speaker-metrics') p.metrics.push(value() ?? '');
    else if (flag.startsWith('-')) return { error: `unknown flag ${flag}` };
    else pos.push(a);
  }
  p.cmd = pos[0] ?? '';
  if (pos[1] !== undefined) p.target = pos[1];
  return p;
}

export async function pluginMain(argv: readonly string[], io: PluginIo): Promise<number> {
  const p = parse(argv);
  if ('help' in p) {
    io.out(PLUGIN_USAGE);
    return 0;
  }
  const fail = (msg: string, code = 1): number => {
    io.err(`kubectl l2lb: ${msg}\n`);
    return code;
  };
  if ('error' in p) return fail(p.error, 2);
  if (!['status', 'explain', 'check'].includes(p.cmd))
    return fail(p.cmd === '' ? 'no command (status, explain svc/NAME, check; --help)' : `unknown command "${p.cmd}"`, 2);
  let service: string | undefined;
  if (p.cmd === 'explain') {
    const m = /^(?:svc|service|services)\/(.+)$/.exec(p.target ?? '');
    if (!m) return fail('explain needs svc/NAME', 2);
    service = `${p.namespace}/${m[1] ?? ''}`;
  }
  let client: KubeClient;
  try {
    const home = join(homedir(), '.kube', 'config');
    const kubeconfig = p.kubeconfig ?? process.env['KUBECONFIG'] ?? (existsSync(home) ? home : undefined); // undefined: in-cluster
    client = new KubeClient(await loadClientConfig(kubeconfig), { userAgent: 'kubectl-l2lb', timeoutMs: 10_000 });
  } catch (e) {
    return fail(`cannot load the Kubernetes client configuration: ${errorText(e)}`);
  }
  const snap = await takeSnapshot(client, { namespace: p.l2lbNamespace, speakerMetrics: p.metrics });
  if (snap.unreadable.length >= 9) return fail(`cannot read anything from the cluster: ${snap.unreadable[0] ?? ''}`);
  const style = io.isTTY && !p.json ? ansi : plain;
  if (p.cmd === 'status') {
    const r = buildStatus(snap);
    io.out(p.json ? `${JSON.stringify(r, null, 2)}\n` : formatStatus(r, style));
    return 0;
  }
  if (p.cmd === 'explain') {
    const r = buildExplain(snap, service as string);
    if ('error' in r) return fail(r.error);
    io.out(p.json ? `${JSON.stringify(r, null, 2)}\n` : formatExplain(r, style));
    return 0;
  }
  const c = configOf(snap);
  const result = {
    valid: c.valid,
    ...(c.error ? { error: c.error } : {}),
    pools: c.config?.pools.map((x) => x.name) ?? [],
    warnings: c.config?.warnings ?? [],
    unreadable: snap.unreadable,
  };
  if (p.json) io.out(`${JSON.stringify(result, null, 2)}\n`);
  else {
    io.out(c.valid ? `configuration valid: ${result.pools.length} pool(s): ${result.pools.join(', ')}\n` : '');
    for (const w of result.warnings) io.err(`warning: ${w}\n`);
    for (const u of snap.unreadable) io.err(`could not read: ${u}\n`);
  }
  return c.valid ? 0 : fail(`configuration invalid: ${c.error ?? ''}`);
}
