// ARP responder benchmark: l2lb's announcer (the `l2lb-speaker announce` CLI, as shipped with the
// addon's ARP reflex, and with --no-arp-reflex so JS answers) vs a minimal C AF_PACKET responder
// vs the Linux kernel, in the same network namespaces and one run.
// Measures reply latency p50/p99 (C prober, kernel RX timestamps), throughput (% answered at
// 50k and 100k requests/s offered, max replies/s), CPU while idle and under a flood of non-ARP
// traffic (BPF / protocol binding at work), and RSS. Needs root; prints SKIPPED otherwise.
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { homedir, cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cleanupStale, createLan, have, isRoot, NsProcess, run, speakerBin, type Lan } from '../test/helpers/netns.js';
import { waitFor } from '../test/helpers/wait.js';

const VIP = '10.88.0.100'; // l2lb
const VIP_JS = '10.88.0.103'; // l2lb --no-arp-reflex
const VIP_C = '10.88.0.101'; // C responder
const VIP_K = '10.88.0.102'; // kernel (configured on the node)
const CLIENT_IP = '10.88.0.1';
const NODE_MAC = '02:00:00:00:88:a1';
const TICKS_PER_S = 100;

interface Latency {
  sent: number;
  received: number;
  samples_us: number[];
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
  const rt = have('chrt') && process.env.L2LB_BENCH_RT === '1';
  const pin = (cpu: number, cmd: string, args: string[]): [string, string[]] => (multi ? ['taskset', ['-c', String(cpu), cmd, ...args]] : [cmd, args]);
  // Responders run SCHED_OTHER, as the speaker DaemonSet does. L2LB_BENCH_RT=1 runs them SCHED_FIFO
  // instead, to see the figures without the noise of other tenants of a shared host.
  const responder = (cmd: string, args: string[]): [string, string[]] => {
    const [c, a] = pin(1, cmd, args);
    return rt ? ['chrt', ['-f', '10', c, ...a]] : [c, a];
  };
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
    const latency = (vip: string, count: number): Latency => probe<Latency>(['latency', 'c0', CLIENT_IP, vip, String(count), '1000']);
    const flood = (vip: string, rate: number, secs = 2): Flood => probe<Flood>(['flood', 'c0', CLIENT_IP, vip, String(rate), String(secs)]);
    const noise = (rate: number, secs: number): unknown => probe(['noise', 'c0', NODE_MAC, String(rate), String(secs)]);
    const throughput = async (row: Row, vip: string, pid: number | undefined): Promise<void> => {
      flood(vip, 20_000, 0.3); // warm-up
      row.at50 = flood(vip, 50_000);
      if (pid) row.cpu100 = await cpuDuring(pid, () => (row.at100 = flood(vip, 100_000)));
      else row.at100 = flood(vip, 100_000);
      row.max = flood(vip, 250_000);
      if (pid) row.rssMb = rssMb(pid);
    };

    // Both userspace responders run side by side (l2lb for VIP, C for VIP_C), and the one not
    // being measured is SIGSTOPped, so latency blocks can be interleaved under the same host
    // noise and throughput runs see only one responder on CPU1.
    const [lcmd, largs] = responder(process.execPath, [
      speakerBin(),
      'announce',
      '--interface',
      'n0',
      '--ip',
      VIP,
      '--garp-count',
      '1',
      '--rescan-interval',
      '10000',
      '--log-level',
      'warn',
    ]);
    const l2 = new NsProcess(nsN, lcmd, largs);
    procs.push(l2);
    await waitFor(() => l2.find((l) => l.event === 'announced'), { timeoutMs: 10_000, what: 'l2lb announced' });
    const [jcmd, jargs] = responder(process.execPath, [
      speakerBin(),
      'announce',
      '--interface',
      'n0',
      '--ip',
      VIP_JS,
      '--garp-count',
      '1',
      '--rescan-interval',
      '10000',
      '--log-level',
      'warn',
      '--no-arp-reflex',
    ]);
    const js = new NsProcess(nsN, jcmd, jargs);
    procs.push(js);
    await waitFor(() => js.find((l) => l.event === 'announced'), { timeoutMs: 10_000, what: 'l2lb (JS path) announced' });
    const [ccmd, cargs] = responder(cResponder, ['n0', VIP_C]);
    const cr = new NsProcess(nsN, ccmd, cargs);
    procs.push(cr);
    await waitFor(() => cr.find((l) => l.text === 'ready'), { timeoutMs: 5000, what: 'C responder ready' });
    const l2pid = l2.child.pid ?? 0;
    const jspid = js.child.pid ?? 0;
    const cpid = cr.child.pid ?? 0;
    const userspace = [l2pid, jspid, cpid];
    const only = (pid: number): void => {
      for (const p of userspace) process.kill(p, p === pid ? 'SIGCONT' : 'SIGSTOP');
    };
    const rowL: Row = { name: 'l2lb (as shipped: reflex)' };
    const rowJ: Row = { name: 'l2lb --no-arp-reflex (JS)' };
    const rowC: Row = { name: 'C AF_PACKET responder' };
    const rowK: Row = { name: 'Linux kernel (VIP on node)' };
    const rows = [rowL, rowJ, rowC, rowK];
    const samples = new Map<Row, number[]>(rows.map((r) => [r, []]));
    const lost = new Map<Row, number>(rows.map((r) => [r, 0]));

    only(l2pid);
    await sleep(300);
    rowL.idleCpu = await cpuDuring(l2pid, () => sleep(3000));
    rowL.noiseCpu = await cpuDuring(l2pid, () => noise(50_000, 3));
    only(cpid);
    await sleep(300);
    rowC.idleCpu = await cpuDuring(cpid, () => sleep(1000));
    rowC.noiseCpu = await cpuDuring(cpid, () => noise(50_000, 1));

    only(jspid);
    await sleep(300);
    rowJ.idleCpu = await cpuDuring(jspid, () => sleep(1000));
    rowJ.noiseCpu = await cpuDuring(jspid, () => noise(50_000, 1));

    for (let round = 0; round < 5; round++) {
      for (const [row, pid, vip] of [
        [rowL, l2pid, VIP],
        [rowJ, jspid, VIP_JS],
        [rowC, cpid, VIP_C],
      ] as const) {
        only(pid);
        latency(vip, 20); // warm-up after SIGCONT (drains what queued while stopped)
        const r = latency(vip, 200);
        samples.get(row)?.push(...r.samples_us);
        lost.set(row, (lost.get(row) ?? 0) + r.sent - r.received);
      }
    }
    only(l2pid);
    await throughput(rowL, VIP, l2pid);
    only(jspid);
    await throughput(rowJ, VIP_JS, jspid);
    only(cpid);
    await throughput(rowC, VIP_C, cpid);
    for (const p of userspace) process.kill(p, 'SIGSTOP');
    run('ip', ['-n', nsN, 'addr', 'add', `${VIP_K}/32`, 'dev', 'n0']);
    latency(VIP_K, 20);
    const k = latency(VIP_K, 1000);
    samples.get(rowK)?.push(...k.samples_us);
    lost.set(rowK, k.sent - k.received);
    await throughput(rowK, VIP_K, undefined);
    for (const p of userspace) process.kill(p, 'SIGCONT');
    for (const row of rows) {
      const xs = [...(samples.get(row) ?? [])].sort((a, b) => a - b);
      const at = (q: number): number => xs[Math.min(xs.length - 1, Math.floor((xs.length - 1) * q))] ?? NaN;
      row.lat = {
        sent: xs.length + (lost.get(row) ?? 0),
        received: xs.length,
        samples_us: [],
        p50_us: at(0.5),
        p99_us: at(0.99),
        max_us: at(1),
      };
    }
    report(rows, multi, rt);
  } finally {
    for (const p of procs) if (p.child.pid && p.exited === undefined) process.kill(p.child.pid, 'SIGCONT');
    await Promise.all(procs.map((p) => p.stop()));
    lan?.destroy();
  }
}

function pct(f: Flood | undefined): string {
  return f && f.sent > 0 ? `${((100 * f.received) / f.sent).toFixed(2)}%` : 'n/a';
}

function report(rows: Row[], multi: boolean, rt: boolean): void {
  const f1 = (n: number | undefined): string => (n === undefined || Number.isNaN(n) ? 'n/a' : n.toFixed(1));
  console.log(`ARP benchmark (one run, same namespaces; responder on CPU1, prober on CPU0: ${multi ? 'yes' : 'no, 1 CPU'})`);
  console.log(`userspace responders: ${rt ? 'SCHED_FIFO 10 (chrt, L2LB_BENCH_RT=1)' : 'SCHED_OTHER (L2LB_BENCH_RT=1 for SCHED_FIFO)'}`);
  console.log('latency: C prober, sequential requests 1 ms apart, send() -> kernel RX timestamp of the reply;');
  console.log('  userspace responders measured in 5 interleaved blocks of 200 each (the others SIGSTOPped), kernel 1000');
  console.log('  reflex: the addon answers plain requests right after recvmmsg(), JS counts them (docs/decisions.md)');
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
  const [l2, js, c, k] = rows;
  if (!l2?.lat || !js?.lat || !c?.lat || !k?.lat) return;
  const rP50c = l2.lat.p50_us / c.lat.p50_us;
  const rP99c = l2.lat.p99_us / c.lat.p99_us;
  console.log(
    `ratios: l2lb/C p50 ${rP50c.toFixed(2)}x, p99 ${rP99c.toFixed(2)}x; ` +
      `l2lb/kernel p50 ${(l2.lat.p50_us / k.lat.p50_us).toFixed(2)}x, p99 ${(l2.lat.p99_us / k.lat.p99_us).toFixed(2)}x; ` +
      `C/kernel p50 ${(c.lat.p50_us / k.lat.p50_us).toFixed(2)}x`,
  );
  console.log(
    `JS path (--no-arp-reflex)/C: p50 ${(js.lat.p50_us / c.lat.p50_us).toFixed(2)}x, ` +
      `p99 ${(js.lat.p99_us / c.lat.p99_us).toFixed(2)}x (for information; the targets apply to l2lb as shipped)`,
  );
  const answered100 = l2.at100 ? l2.at100.received / l2.at100.sent : 0;
  const offered100 = l2.at100 ? l2.at100.sent / l2.at100.seconds : 0;
  console.log(
    `offered at "100k/s": ${Math.round(offered100)} requests/s actually sent by the prober ` +
      `(prober socket drops: l2lb ${l2.at100?.rx_drops ?? 'n/a'}, C ${c.at100?.rx_drops ?? 'n/a'}, kernel ${k.at100?.rx_drops ?? 'n/a'})`,
  );
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
