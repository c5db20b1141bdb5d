// The broadcast queue (hashicorp/memberlist's TransmitLimitedQueue): messages about members waiting to
// be piggybacked on outgoing packets, each sent at most retransmitMult * ceil(log10(n + 1)) times,
// least-sent first. A newer message about a member replaces the queued one. Pure: no clock, no I/O.

interface Broadcast {
  /** The member the message is about: one queued message per member. */
  name: string;
  msg: Uint8Array;
  transmits: number;
  /** Insertion order, newest highest (ties are sent newest first, as Go does). */
  id: number;
  /** Called once the message is sent often enough, or replaced by a newer one. */
  notify: (() => void) | undefined;
}

/** Go's limit on messages in one compound packet. */
const MAX_MESSAGES_PER_PACKET = 255;

export class TransmitLimitedQueue {
  private queue: Broadcast[] = [];
  private nextId = 0;

  /**
   * @param retransmitMult how many times each message goes out per log10 of the cluster size
   * @param numNodes the current cluster size (read at every call of getBroadcasts)
   */
  constructor(
    private readonly retransmitMult: number,
    private readonly numNodes: () => number,
  ) {}

  /** Messages queued (not yet sent often enough). */
  get length(): number {
    return this.queue.length;
  }

  /** How many times each message is sent in a cluster of the current size. */
  retransmitLimit(): number {
    const n = Math.max(1, this.numNodes());
    return this.retransmitMult * Math.ceil(Math.log10(n + 1));
  }

  /** Queues a message about member `name`, replacing (and notifying) any queued one about it. */
  queueBroadcast(name: string, msg: Uint8Array, notify?: () => void): void {
    this.queue = this.queue.filter((b) => {
      if (b.name !== name) return true;
      b.notify?.();
      return false;
    });
    this.queue.push({ name, msg, transmits: 0, id: this.nextId++, notify });
  }

  /**
   * The messages that fit in `limit` bytes, each costing its length plus `overhead`, least-sent
   * first (then largest, then newest). Each one returned counts as sent once; one sent often enough
   * leaves the queue and is notified.
   */
  getBroadcasts(overhead: number, limit: number): Uint8Array[] {
    if (this.queue.length === 0) return [];
    const lim = this.retransmitLimit();
    this.queue.sort((a, b) => a.transmits - b.transmits || b.msg.length - a.msg.length || b.id - a.id);
    const out: Uint8Array[] = [];
    let used = 0;
    const keep: Broadcast[] = [];
    for (const b of this.queue) {
      if (out.length < MAX_MESSAGES_PER_PACKET && used + overhead + b.msg.length <= limit) {
        used += overhead + b.msg.length;
        out.push(b.msg);
        b.transmits++;
        if (b.transmits >= lim) {
          b.notify?.();
          continue;
        }
      }
      keep.push(b);
    }
    this.queue = keep;
    return out;
  }
}
