// Failure detection at cluster size n, in the deterministic simulated network (sim.ts): n members
// join, converge, idle (bytes each sends per second), then members are killed one at a time and we
// time how long until the first survivor, and until every survivor, declares each one dead. Pure
// virtual time: the figures do not depend on the load of the machine running it.
import { makeConfig, type ProfileName, type Timings } from './config.js';
import { SimNetwork } from './sim.js';
import { defaultWireOptions } from './wire.js';

export interface ScaleOptions {
  profile: ProfileName;
  members: number;
  /** Members killed one after the other (default 5). */
  kills?: number;
  /** Idle window for the traffic figure, virtual ms (default 10 000). */
  idleMs?: number;
  /** Timings over the profile's (tuning experiments). */
  timings?: Partial<Timings>;
  seed?: number;
}

export interface ScaleResult {
  members: number;
  /** Virtual ms from the first start until every member lists all n. */
  convergeMs: number;
  /** Per kill: ms until the first survivor declared the victim dead, and until all had. */
  firstMs: number[];
  allMs: number[];
  /** Idle bytes/s sent per member (datagrams and streams): mean and the busiest member. */
  bytesPerSecMean: number;
  bytesPerSecMax: number;
  /** Live members declared dead by someone during the run (no loss: should be 0). */
  falseDeaths: number;
}

const ip = (i: number): string => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${(i & 255) + 1}`;

export function simulateScale(o: ScaleOptions): ScaleResult {
  const net = new SimNetwork(o.seed ?? 1);
  const n = o.members;
  const killed = new Set<string>();
  const deadIn = new Map<string, Set<string>>();
  let falseDeaths = 0;
  const nodes = Array.from({ length: n }, (_, i) => {
    const name = `m${i}`;
    return net.addNode(makeConfig(name, ip(i), 7946, { wire: defaultWireOptions({ compression: false }), ...o.timings }, o.profile), {
      leave: (m, reason) => {
        if (reason !== 'dead') return;
        if (!killed.has(m.name)) falseDeaths += 1;
        let s = deadIn.get(m.name);
        if (!s) deadIn.set(m.name, (s = new Set()));
        s.add(name);
      },
    });
  });
  // Staggered starts, each joining the first member and one random earlier one (as speakers join the listed Pods).
  nodes.forEach((m, i) =>
    net.schedule(i * 5, () => {
      m.start();
      if (i > 0)
        m.join(
          [
            { ip: ip(0), port: 7946 },
            { ip: ip(Math.floor(net.rand() * i)), port: 7946 },
          ],
          () => undefined,
        );
    }),
  );
  const converged = net.runUntilCond(() => nodes.every((m) => m.members().length === n), 600_000);
  if (converged === null) throw new Error(`${o.profile}, ${n} members: no convergence within 600 s of virtual time`);
  net.runUntil(net.now + 2000);
  const idleMs = o.idleMs ?? 10_000;
  const before = new Map(net.bytesSent);
  net.runUntil(net.now + idleMs);
  const rates = nodes.map((m) => ((net.bytesSent.get(m.cfg.name) ?? 0) - (before.get(m.cfg.name) ?? 0)) / (idleMs / 1000));
  const firstMs: number[] = [];
  const allMs: number[] = [];
  for (let k = 0; k < (o.kills ?? 5); k++) {
    const alive = nodes.filter((m) => !killed.has(m.cfg.name));
    const victim = alive[1 + Math.floor(net.rand() * (alive.length - 1))];
    if (victim === undefined) break;
    const name = victim.cfg.name;
    const survivors = alive.filter((m) => m !== victim).map((m) => m.cfg.name);
    killed.add(name);
    const t0 = net.now;
    net.kill(name);
    let first: number | undefined;
    const all = net.runUntilCond(() => {
      const s = deadIn.get(name);
      if (first === undefined && s !== undefined && s.size > 0) first = net.now - t0;
      return s !== undefined && survivors.every((x) => s.has(x));
    }, 120_000);
    if (all === null) throw new Error(`${o.profile}, ${n} members: ${name} not declared dead by every survivor within 120 s`);
    firstMs.push(first ?? all - t0);
    allMs.push(all - t0);
    net.runUntil(net.now + 1000);
  }
  return {
    members: n,
    convergeMs: converged,
    firstMs,
    allMs,
    bytesPerSecMean: rates.reduce((a, b) => a + b, 0) / rates.length,
    bytesPerSecMax: Math.max(...rates),
    falseDeaths,
  };
}
