// A hand-driven clock for the configuration source and ConfigurationState writer tests: timers fire
// only when a test advances time.
import type { SourceTimers } from '../../src/kube/config-source.js';

export class ManualClock implements SourceTimers {
  now = 0;
  private timers: { at: number; fn: () => void; id: number }[] = [];
  private next = 0;
  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.next;
    this.timers.push({ at: this.now + ms, fn, id });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.timers = this.timers.filter((t) => t.id !== handle);
  }
  /** Fires every timer due by now + ms, synchronously. */
  advance(ms: number): void {
    this.now += ms;
    const due = this.timers.filter((t) => t.at <= this.now);
    this.timers = this.timers.filter((t) => t.at > this.now);
    for (const t of due) t.fn();
  }
  /** Runs due timers one by one in time order, letting the async work each starts settle first. */
  async advanceSettling(ms: number): Promise<void> {
    const end = this.now + ms;
    for (;;) {
      await new Promise((r) => setImmediate(r));
      this.timers.sort((a, b) => a.at - b.at);
      const t = this.timers[0];
      if (t === undefined || t.at > end) break;
      this.timers.shift();
      this.now = t.at;
      t.fn();
    }
    this.now = end;
  }
  get pending(): number {
    return this.timers.length;
  }
}
