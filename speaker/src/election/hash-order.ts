// The SHA-256 order of node names for one IP, remembered. Every decision sorts the candidates by
// SHA-256("<node>#<ip>"); with 250 nodes that is 250 hashes and a sort per Service, and a pass over
// 10 000 Services after a membership change took 35 s of CPU on the loaded 2-core test machine
// (docs/decisions.md). The order of a given set of names never changes for an IP, so it is computed
// once over every name seen so far (the universe) and each decision filters it to its candidates.
// A name never seen before invalidates every cached order (each is recomputed on its next use).
import { createHash } from 'node:crypto';

export type Digest = (text: string) => Buffer;

const sha256: Digest = (text) => createHash('sha256').update(text, 'utf8').digest();

export interface HashOrderOptions {
  /** Cached IPs before the cache starts over (bounds memory: 4 096 names x this many references). */
  maxIps?: number;
  /** Names kept in the universe before it is rebuilt from the names of the current call. */
  maxNames?: number;
  /** Injected for tests (counts the hashes). */
  digest?: Digest;
}

export class HashOrderCache {
  private universe = new Set<string>();
  private readonly orders = new Map<string, readonly string[]>();
  private readonly maxIps: number;
  private readonly maxNames: number;
  private readonly digest: Digest;

  constructor(o: HashOrderOptions = {}) {
    this.maxIps = o.maxIps ?? 65_536;
    this.maxNames = o.maxNames ?? 4096;
    this.digest = o.digest ?? sha256;
  }

  /** `names` (duplicates removed) in ascending SHA-256("<name>#<ip>") order, bytewise; ties by name. */
  order(names: Iterable<string>, ip: string): string[] {
    const wanted = new Set(names);
    let grew = false;
    for (const n of wanted) {
      if (!this.universe.has(n)) {
        this.universe.add(n);
        grew = true;
      }
    }
    if (grew) {
      this.orders.clear();
      if (this.universe.size > this.maxNames) this.universe = new Set(wanted);
    }
    let all = this.orders.get(ip);
    if (all === undefined) {
      all = this.sortAll(ip);
      if (this.orders.size >= this.maxIps) this.orders.clear();
      this.orders.set(ip, all);
    }
    if (all.length === wanted.size) return [...all];
    return all.filter((n) => wanted.has(n));
  }

  private sortAll(ip: string): string[] {
    const keyed = [...this.universe].map((node) => ({ node, digest: this.digest(`${node}#${ip}`) }));
    keyed.sort((a, b) => Buffer.compare(a.digest, b.digest) || (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
    return keyed.map((k) => k.node);
  }
}
