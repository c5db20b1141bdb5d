// A set of bigints stored as sorted, disjoint, non-adjacent closed intervals [start, end].
// Used for the addresses in use in one pool and family: membership, insertion and the
// "first free address at or after x" query cost O(log k) for k intervals, independent of the
// pool size (a /16 filled from the bottom is a single interval).

export class IntervalSet {
  private readonly starts: bigint[] = [];
  private readonly ends: bigint[] = [];
  private count = 0n;

  /** Number of values in the set. */
  get size(): bigint {
    return this.count;
  }

  /** Number of stored intervals (for tests and memory estimates). */
  get intervalCount(): number {
    return this.starts.length;
  }

  /** Index of the last interval whose start is <= v, or -1. */
  private floorIndex(v: bigint): number {
    let lo = 0;
    let hi = this.starts.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.starts[mid] as bigint) <= v) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }

  has(v: bigint): boolean {
    const i = this.floorIndex(v);
    return i >= 0 && (this.ends[i] as bigint) >= v;
  }

  /** Adds v; returns false when it was already present. */
  add(v: bigint): boolean {
    const i = this.floorIndex(v);
    if (i >= 0 && (this.ends[i] as bigint) >= v) return false;
    const joinsLeft = i >= 0 && (this.ends[i] as bigint) + 1n === v;
    const joinsRight = i + 1 < this.starts.length && (this.starts[i + 1] as bigint) === v + 1n;
    if (joinsLeft && joinsRight) {
      this.ends[i] = this.ends[i + 1] as bigint;
      this.starts.splice(i + 1, 1);
      this.ends.splice(i + 1, 1);
    } else if (joinsLeft) {
      this.ends[i] = v;
    } else if (joinsRight) {
      this.starts[i + 1] = v;
    } else {
      this.starts.splice(i + 1, 0, v);
      this.ends.splice(i + 1, 0, v);
    }
    this.count += 1n;
    return true;
  }

  /** Removes v; returns false when it was absent. */
  delete(v: bigint): boolean {
    const i = this.floorIndex(v);
    if (i < 0) return false;
    const start = this.starts[i] as bigint;
    const end = this.ends[i] as bigint;
    if (end < v) return false;
    if (start === v && end === v) {
      this.starts.splice(i, 1);
      this.ends.splice(i, 1);
    } else if (start === v) {
      this.starts[i] = v + 1n;
    } else if (end === v) {
      this.ends[i] = v - 1n;
    } else {
      this.ends[i] = v - 1n;
      this.starts.splice(i + 1, 0, v + 1n);
      this.ends.splice(i + 1, 0, end);
    }
    this.count -= 1n;
    return true;
  }

  /** The smallest value >= v that is not in the set. */
  firstAbsentAtOrAfter(v: bigint): bigint {
    const i = this.floorIndex(v);
    if (i >= 0 && (this.ends[i] as bigint) >= v) return (this.ends[i] as bigint) + 1n;
    return v;
  }

  /** Number of members within [first, last]. */
  countWithin(first: bigint, last: bigint): bigint {
    let total = 0n;
    for (let i = Math.max(0, this.floorIndex(first)); i < this.starts.length; i += 1) {
      const s = this.starts[i] as bigint;
      const e = this.ends[i] as bigint;
      if (s > last) break;
      const lo = s > first ? s : first;
      const hi = e < last ? e : last;
      if (hi >= lo) total += hi - lo + 1n;
    }
    return total;
  }

  *values(): IterableIterator<bigint> {
    for (let i = 0; i < this.starts.length; i += 1) {
      for (let v = this.starts[i] as bigint; v <= (this.ends[i] as bigint); v += 1n) yield v;
    }
  }
}
