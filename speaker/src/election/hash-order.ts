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
  /** The last frozen names array seen, and its set (every name of it is in the universe). */
  private lastFrozen: readonly string[] | undefined;
  private lastWanted: ReadonlySet<string> | undefined;
  /** The most names one call has asked for (bounds the universe, with maxNames). */
  private largestWanted = 0;

  constructor(o: HashOrderOptions = {}) {
    this.maxIps = o.maxIps ?? 65_536;
    this.maxNames = o.maxNames ?? 4096;
    this.digest = o.digest ?? sha256;
  }

  /**
   * `names` (duplicates removed) in ascending SHA-256("<name>#<ip>") order, bytewise; ties by name. A
   * frozen array passed again (the speaker's cached candidate list) skips rebuilding its set and
   * checking it against the universe: 250 names x 10 000 Services of set work per pass otherwise.
   */
  order(names: Iterable<string>, ip: string): string[] {
    const { wanted, all } = this.lookup(names, ip);
    if (all.length === wanted.size) return [...all];
    return all.filter((n) => wanted.has(n));
  }

  /** The first of `order(names, ip)` without building the rest (undefined when `names` is empty). */
  first(names: Iterable<string>, ip: string): string | undefined {
    const { wanted, all } = this.lookup(names, ip);
    for (const n of all) if (wanted.has(n)) return n;
    return undefined;
  }

  private lookup(names: Iterable<string>, ip: string): { wanted: ReadonlySet<string>; all: readonly string[] } {
    let wanted: ReadonlySet<string>;
    if (names === this.lastFrozen && this.lastWanted !== undefined) {
      wanted = this.lastWanted;
    } else {
      const fresh = new Set(names);
      this.largestWanted = Math.max(this.largestWanted, fresh.size);
      let grew = false;
      for (const n of fresh) {
        if (!this.universe.has(n)) {
          this.universe.add(n);
          grew = true;
        }
      }
      if (grew) {
        this.orders.clear();
        // Names of nodes long gone (autoscaled away, renamed) would otherwise stay until maxNames, and
        // every IP's order is a hash per universe name: keep it within twice the largest candidate set.
        if (this.universe.size > Math.min(this.maxNames, 2 * this.largestWanted + 16)) this.universe = new Set(fresh);
        this.lastFrozen = undefined; // its names may have left the universe
        this.lastWanted = undefined;
      }
      if (Array.isArray(names) && Object.isFrozen(names)) {
        this.lastFrozen = names;
        this.lastWanted = fresh;
      }
      wanted = fresh;
    }
    let all = this.orders.get(ip);
    if (all === undefined) {
      all = this.sortAll(ip);
      if (this.orders.size >= this.maxIps) this.orders.clear();
      this.orders.set(ip, all);
    }
    return { wanted, all };
  }

  private sortAll(ip: string): string[] {
    const keyed = [...this.universe].map((node) => ({ node, digest: this.digest(`${node}#${ip}`) }));
    keyed.sort((a, b) => Buffer.compare(a.digest, b.digest) || (a.node < b.node ? -1 : a.node > b.node ? 1 : 0));
    return keyed.map((k) => k.node);
  }
}
