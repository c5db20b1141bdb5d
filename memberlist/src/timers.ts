// Timers for the memberlist state machine on a real event loop, aware of their own lateness.
//
// A timer that fires well after its due time means the process was held up (a long task on the loop,
// CFS throttling, a descheduled VM). Whatever arrived meanwhile (acks, refutations) waits in the socket
// buffers, and Node.js runs due timers before it reads sockets. A late probe deadline or suspicion timer
// would then decide "no answer" with the answer already here. So a late timer runs after one pass of
// the poll phase (setImmediate), and its verdict sees what arrived while we were not running.

/** Later than this past its due time, a timer lets pending I/O in first. */
export const LATE_TIMER_MS = 5;

export interface CancelableTimer {
  cancel(): void;
}

export interface LateAwareTimersOptions {
  now?: () => number;
  /** Called when a timer ran (or was deferred) late, with how late (ms). */
  onLate?: (lateMs: number) => void;
  /** Exceptions from callbacks (a timer callback must never take the process down). */
  onError?: (e: unknown) => void;
}

type Handle = { kind: 'timeout'; h: NodeJS.Timeout } | { kind: 'immediate'; h: NodeJS.Immediate };

export class LateAwareTimers {
  private readonly live = new Set<Handle>();
  private readonly now: () => number;

  constructor(private readonly o: LateAwareTimersOptions = {}) {
    this.now = o.now ?? (() => performance.now());
  }

  set(ms: number, fn: () => void): CancelableTimer {
    const wait = Math.max(0, ms);
    const due = this.now() + wait;
    let cancelled = false;
    let current: Handle;
    const run = (): void => {
      this.live.delete(current);
      if (cancelled) return;
      try {
        fn();
      } catch (e) {
        this.o.onError?.(e);
      }
    };
    current = {
      kind: 'timeout',
      h: setTimeout(() => {
        this.live.delete(current);
        if (cancelled) return;
        const late = this.now() - due;
        if (late <= LATE_TIMER_MS) {
          run();
          return;
        }
        this.o.onLate?.(late);
        current = { kind: 'immediate', h: setImmediate(run) };
        this.live.add(current);
      }, wait),
    };
    this.live.add(current);
    return {
      cancel: () => {
        cancelled = true;
        LateAwareTimers.clear(current);
        this.live.delete(current);
      },
    };
  }

  /** Cancels every pending timer. */
  clearAll(): void {
    for (const h of this.live) LateAwareTimers.clear(h);
    this.live.clear();
  }

  get size(): number {
    return this.live.size;
  }

  private static clear(x: Handle): void {
    if (x.kind === 'timeout') clearTimeout(x.h);
    else clearImmediate(x.h);
  }
}
