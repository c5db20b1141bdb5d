// ARP responder benchmark: l2lb's announcer (the `l2lb-speaker announce` CLI) vs a minimal C
// AF_PACKET responder vs the Linux kernel, in the same network namespaces and one run.
// Measures reply latency p50/p99 (C prober, kernel RX timestamps), throughput (% answered at
// 50k and 100k requests/s offered, max replies/s), CPU while idle and under a flood of non-ARP
// traffic (BPF / protocol binding at work), and RSS. Needs root; prints SKIPPED otherwise.
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { homedir, cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cleanupStale, createLan, have, isRoot, NsProcess, run, speakerBin, type Lan } from '../test/helpers/netns.js';
import { waitFor } from '../test/helpers/wait.js';

const VIP = '10.88.0.100';
const CLIENT_IP = '10.88.0.1';
const NODE_MAC = '02:00:00:00:88:a1';
const TICKS_PER_S = 100;

interface Latency {
  sent: number;
  received: number;
  p50_us: number;
  p99_us: number;
  max_us: number;
}
interface Flood {
  sent: number;
  received: number;
  seconds: number;
  rx_drops?: number;
}
interface Row {
  name: string;
  lat?: Latency;
  at50?: Flood;
  at100?: Flood;
  max?: Flood;
  cpu100?: number;
  idleCpu?: number;
  noiseCpu?: number;
  rssMb?: number;
}

function compile(name: string): string {
  const src = fileURLToPath(new URL(`../../../native/bench/${name}.c`, import.meta.url));
  const dir = join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'l2lb', 'bench');
  mkdirSync(dir, { recursive: true });
  const out = join(dir, name);
  if (!existsSync(out) || statSync(out).mtimeMs < statSync(src).mtimeMs) {
    run('cc', ['-O2', '-Wall', '-o', out, src]);
  }
  return out;
}

function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime + stime
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function cpuDuring(pid: number, work: () => Promise<unknown> | unknown): Promise<number> {
  const t0 = Date.now();
  const c0 = cpuTicks(pid);
  await work();
  const secs = (Date.now() - t0) / 1000;
  return ((cpuTicks(pid) - c0) / TICKS_PER_S / secs) * 100;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  if (!isRoot() || !have('cc') || !have('taskset')) {
    console.log('SKIPPED: the arp benchmark needs root (network namespaces), cc and taskset');
    return;
  }
  cleanupStale();
  const prober = compile('arp-prober');
  const cResponder = compile('arp-responder');
  const multi = cpus().length >= 2;
  const pin = (cpu: number, cmd: string, args: string[]): [string, string[]] =>
    multi ? ['taskset', ['-c', String(cpu), cmd, ...args]] : [cmd, args];
  let lan: Lan | undefined;
  const procs: NsProcess[] = [];
  try {
    lan = createLan('bn', {
      c: { ifname: 'c0', mac: '02:00:00:00:88:c1', v4: `${CLIENT_IP}/24` },
      n: { ifname: 'n0', mac: NODE_MAC, v4: '10.88.0.2/24' },
    });
    const nsC = lan.ns.c ?? '';
    const nsN = lan.ns.n ?? '';
    const probe = <T>(args: string[], timeoutMs = 30_000): T => {
      const [cmd, a] = pin(0, prober, args);
      const out = run('ip', ['netns', 'exec', nsC, cmd, ...a], { timeoutMs });
      return JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as T;
    };
    const latency = (): Latency => probe<Latency>(['latency', 'c0', CLIENT_IP, VIP, '1000', '1000']);
    const flood = (rate: number, secs = 2): Flood => probe<Flood>(['flood', 'c0', CLIENT_IP, VIP, String(rate), String(secs)]);
    const noise = (rate: number, secs: number): unknown => probe(['noise', 'c0', NODE_MAC, String(rate), String(secs)]);
    const measure = async (row: Row, pid: number | undefined): Promise<void> => {
      flood(20_000, 0.3); // warm-up
      row.lat = latency();
      row.at50 = flood(50_000);
      if (pid) row.cpu100 = await cpuDuring(pid, () => (row.at100 = flood(100_000)));
      else row.at100 = flood(100_000);
      row.max = flood(250_000);
      if (pid) row.rssMb = rssMb(pid);
    };
    const rows: Row[] = [];

    // 1. l2lb
    {
      const [cmd, args] = pin(1, process.execPath, [speakerBin(), 'announce', '--interface', 'n0', '--ip', VIP,
        '--garp-count', '1', '--rescan-interval', '10000', '--log-level', 'warn']);
      const p = new NsProcess(nsN, cmd, args);
      procs.push(p);
      await waitFor(() => p.find((l) => l.event === 'announced'), { timeoutMs: 10_000, what: 'l2lb announced' });
      const pid = p.child.pid ?? 0;
      const row: Row = { name: 'l2lb (node addon + TS)' };
      await sleep(300);
      row.idleCpu = await cpuDuring(pid, () => sleep(3000));
      row.noiseCpu = await cpuDuring(pid, () => noise(50_000, 3));
      await measure(row, pid);
      rows.push(row);
      await p.stop();
    }
    // 2. C reference
    {
      const [cmd, args] = pin(1, cResponder, ['n0', VIP]);
      const p = new NsProcess(nsN, cmd, args);
      procs.push(p);
      await waitFor(() => p.find((l) => l.text === 'ready'), { timeoutMs: 5000, what: 'C responder ready' });
      const pid = p.child.pid ?? 0;
      const row: Row = { name: 'C AF_PACKET responder' };
      row.idleCpu = await cpuDuring(pid, () => sleep(1000));
      row.noiseCpu = await cpuDuring(pid, () => noise(50_000, 1));
      await measure(row, pid);
      rows.push(row);
      await p.stop();
    }
    // 3. kernel (VIP configured on the node)
    {
      run('ip', ['-n', nsN, 'addr', 'add', `${VIP}/32`, 'dev', 'n0']);
      const row: Row = { name: 'Linux kernel (VIP on node)' };
      await measure(row, undefined);
      rows.push(row);
      run('ip', ['-n', nsN, 'addr', 'del', `${VIP}/32`, 'dev', 'n0']);
    }
    report(rows, multi);
  } finally {
    await Promise.all(procs.map((p) => p.stop()));
    lan?.destroy();
  }
}

function pct(f: Flood | undefined): string {
  return f && f.sent > 0 ? `${((100 * f.received) / f.sent).toFixed(2)}%` : 'n/a';
}

function report(rows: Row[], multi: boolean): void {
  const f1 = (n: number | undefined): string => (n === undefined || Number.isNaN(n) ? 'n/a' : n.toFixed(1));
  console.log(`ARP benchmark (one run, same namespaces; responder on CPU1, prober on CPU0: ${multi ? 'yes' : 'no, 1 CPU'})`);
  console.log('latency = C prober, 1000 sequential requests, send() -> kernel RX timestamp of the reply');
  console.log(
    ['responder', 'p50 us', 'p99 us', 'max us', 'lost', '@50k/s', '@100k/s', 'CPU@100k', 'max replies/s', 'idle CPU', 'noise CPU', 'RSS MB']
      .map((h, i) => (i === 0 ? h.padEnd(28) : h.padStart(10)))
      .join(' '),
  );
  for (const r of rows) {
    const cells = [
      f1(r.lat?.p50_us),
      f1(r.lat?.p99_us),
      f1(r.lat?.max_us),
      String((r.lat?.sent ?? 0) - (r.lat?.received ?? 0)),
      pct(r.at50),
      pct(r.at100),
      r.cpu100 === undefined ? 'softirq' : `${f1(r.cpu100)}%`,
      r.max ? String(Math.round(r.max.received / r.max.seconds)) : 'n/a',
      r.idleCpu === undefined ? 'n/a' : `${f1(r.idleCpu)}%`,
      r.noiseCpu === undefined ? 'n/a' : `${f1(r.noiseCpu)}%`,
      f1(r.rssMb),
    ];
    console.log([r.name.padEnd(28), ...cells.map((c) => c.padStart(10))].join(' '));
  }
  const [l2, c, k] = rows;
  if (!l2?.lat || !c?.lat || !k?.lat) return;
  const rP50c = l2.lat.p50_us / c.lat.p50_us;
  const rP99c = l2.lat.p99_us / c.lat.p99_us;
  console.log(`ratios: l2lb/C p50 ${rP50c.toFixed(2)}x, p99 ${rP99c.toFixed(2)}x; ` +
    `l2lb/kernel p50 ${(l2.lat.p50_us / k.lat.p50_us).toFixed(2)}x, p99 ${(l2.lat.p99_us / k.lat.p99_us).toFixed(2)}x; ` +
    `C/kernel p50 ${(c.lat.p50_us / k.lat.p50_us).toFixed(2)}x`);
  const answered100 = l2.at100 ? l2.at100.received / l2.at100.sent : 0;
  const offered100 = l2.at100 ? l2.at100.sent / l2.at100.seconds : 0;
  console.log(`offered at "100k/s": ${Math.round(offered100)} requests/s actually sent by the prober ` +
    `(prober socket drops: l2lb ${l2.at100?.rx_drops ?? 'n/a'}, C ${c.at100?.rx_drops ?? 'n/a'}, kernel ${k.at100?.rx_drops ?? 'n/a'})`);
  const targets: [boolean, string][] = [
    [rP50c <= 1.5, `p50 ${f1(l2.lat.p50_us)} us <= 1.5x C (${f1(c.lat.p50_us)} us): ratio ${rP50c.toFixed(2)}`],
    [l2.lat.p99_us <= 1000, `p99 ${f1(l2.lat.p99_us)} us <= 1 ms`],
    [answered100 >= 0.99, `>= 99% answered at 100k/s on one core: ${(answered100 * 100).toFixed(2)}%`],
    [(l2.idleCpu ?? 100) < 1, `idle CPU ~0: ${f1(l2.idleCpu)}%`],
    [(l2.noiseCpu ?? 100) < 2, `CPU under a 50k/s non-ARP flood ~0: ${f1(l2.noiseCpu)}%`],
  ];
  for (const [okay, text] of targets) console.log(okay ? `target met: ${text}` : `TARGET MISSED: ${text}`);
}

main().catch((e: Error) => {
  console.error(`arp bench failed: ${e.stack ?? e.message}`);
  process.exitCode = 1;
});
