// CPU stalls for the simulated network (sim.ts): when a node's process cannot run. Two sources, as in
// the lab soak: a cgroup CPU quota shared with a spinning stress-ng worker (the group runs until the
// quota is spent, then everything in it, the speaker included, is throttled to the end of the CFS
// period), and occasional long pauses (GC, the host's own load; the lab's speakers showed event-loop
// delays up to 0.2-0.4 s). Pure: the random source is passed in.

export interface StallModel {
  /** CFS quota period (the lab: 100 ms). 0: no quota throttling. */
  periodMs: number;
  /** Throttled tail of each period, uniform in [min, max] (quota 0.4 core and stress-ng spinning: ~60 ms). */
  throttleMinMs: number;
  throttleMaxMs: number;
  /** Long stalls: this many a minute on average (Poisson arrivals), lasting uniform in [min, max]. */
  longPerMinute: number;
  longMinMs: number;
  longMaxMs: number;
}

/** Calibrated to the lab soak (see memberlist/README.md "Profiles"). */
export const SOAK_STALLS: StallModel = Object.freeze({
  periodMs: 100,
  throttleMinMs: 45,
  throttleMaxMs: 60,
  longPerMinute: 1,
  longMinMs: 200,
  longMaxMs: 300,
});

/** The harsher variant: the same quota, longer and more frequent long stalls. */
export const HARSH_STALLS: StallModel = Object.freeze({
  periodMs: 100,
  throttleMinMs: 45,
  throttleMaxMs: 60,
  longPerMinute: 3,
  longMinMs: 200,
  longMaxMs: 400,
});

export interface StallInterval {
  start: number;
  end: number;
}

/**
 * The stalls of one node in [fromMs, toMs), sorted by start; intervals may overlap (a long stall over
 * a throttled tail) and are meant for SimNetwork.stall, which merges them. The quota period starts at
 * a random phase, as each node's cgroup does.
 */
export function stallPlan(rand: () => number, m: StallModel, fromMs: number, toMs: number): StallInterval[] {
  const out: StallInterval[] = [];
  if (m.periodMs > 0 && m.throttleMaxMs > 0) {
    for (let p = fromMs - rand() * m.periodMs; p < toMs; p += m.periodMs) {
      const len = m.throttleMinMs + rand() * (m.throttleMaxMs - m.throttleMinMs);
      const start = Math.max(fromMs, p + m.periodMs - len);
      const end = Math.min(toMs, p + m.periodMs);
      if (end > start) out.push({ start, end });
    }
  }
  if (m.longPerMinute > 0) {
    const meanGapMs = 60_000 / m.longPerMinute;
    for (let t = fromMs - Math.log(1 - rand()) * meanGapMs; t < toMs; t -= Math.log(1 - rand()) * meanGapMs) {
      out.push({ start: t, end: Math.min(toMs, t + m.longMinMs + rand() * (m.longMaxMs - m.longMinMs)) });
    }
  }
  return out.sort((a, b) => a.start - b.start);
}
