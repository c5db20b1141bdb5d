// Test doubles for the announcer's injected I/O: sockets, interface list, timers.
import type { Timers } from '../../src/l2/announcer.js';
import type { ArpReflexTable, L2Socket, L2FrameBatch, SocketKind } from '../../src/l2/port.js';
import type { InterfaceInfo } from '../../src/l2/interfaces.js';

export class FakeSocket implements L2Socket {
  sent: Buffer[] = [];
  multicast = new Set<string>();
  groups = new Set<string>();
  closed = false;
  failSend: Error | undefined;
  /** The last ARP reflex table set (undefined: never set). The fake does not answer by itself. */
  arpTable: ArpReflexTable | null | undefined;
  arpTableSets = 0;
  private frameCb: ((b: L2FrameBatch) => void) | undefined;
  private errorCb: ((e: Error & { code?: string }) => void) | undefined;
  constructor(
    readonly ifname: string,
    readonly kind: SocketKind,
  ) {}
  onFrames(cb: (b: L2FrameBatch) => void): void {
    this.frameCb = cb;
  }
  onError(cb: (e: Error & { code?: string }) => void): void {
    this.errorCb = cb;
  }
  send(frame: Buffer): void {
    if (this.closed) throw new Error('closed');
    if (this.failSend) throw this.failSend;
    this.sent.push(Buffer.from(frame));
  }
  addMulticast(mac: Buffer): void {
    this.multicast.add(mac.toString('hex'));
  }
  dropMulticast(mac: Buffer): void {
    this.multicast.delete(mac.toString('hex'));
  }
  joinGroup6(g: Buffer): void {
    this.groups.add(g.toString('hex'));
  }
  leaveGroup6(g: Buffer): void {
    this.groups.delete(g.toString('hex'));
  }
  stats(): { packets: number; drops: number } {
    return { packets: 0, drops: 0 };
  }
  close(): void {
    this.closed = true;
  }
  setArpReplies(table: ArpReflexTable | null): void {
    this.arpTableSets++;
    this.arpTable = table && {
      mac: Buffer.from(table.mac),
      ips: table.ips.map((b) => Buffer.from(b)),
      ignoreMacs: table.ignoreMacs.map((b) => Buffer.from(b)),
    };
  }
  /** Delivers frames as one batch (pktType 0 = PACKET_HOST unless given; reflex outcome 0 unless given). */
  deliver(frames: Buffer[], pktTypes?: number[], answered?: number[]): void {
    this.frameCb?.({
      count: frames.length,
      frame: (i) => frames[i] ?? Buffer.alloc(0),
      pktType: (i) => pktTypes?.[i] ?? 0,
      answered: (i) => answered?.[i] ?? 0,
    });
  }
  fail(code: string): void {
    const e: Error & { code?: string } = new Error(code);
    e.code = code;
    this.errorCb?.(e);
  }
  takeSent(): Buffer[] {
    const s = this.sent;
    this.sent = [];
    return s;
  }
}

export class FakeNet {
  sockets: FakeSocket[] = [];
  ifaces: InterfaceInfo[] = [];
  factory = (ifname: string, kind: SocketKind): FakeSocket => {
    const s = new FakeSocket(ifname, kind);
    this.sockets.push(s);
    return s;
  };
  list = (): InterfaceInfo[] => this.ifaces.map((i) => ({ ...i, addresses: [...i.addresses] }));
  open(ifname: string, kind: SocketKind): FakeSocket {
    const s = this.sockets.filter((x) => x.ifname === ifname && x.kind === kind && !x.closed).at(-1);
    if (!s) throw new Error(`no open ${kind} socket on ${ifname}`);
    return s;
  }
}

export function iface(name: string, index: number, mac: string | null, extra: Partial<InterfaceInfo> = {}): InterfaceInfo {
  return { name, index, mac, up: true, broadcast: true, noarp: false, loopback: false, hasMaster: false, addresses: [], ...extra };
}

export class FakeTimers implements Timers {
  now = 0;
  private seq = 0;
  private pending = new Map<number, { at: number; fn: () => void }>();
  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.pending.set(id, { at: this.now + ms, fn });
    return id;
  }
  clearTimeout(h: unknown): void {
    this.pending.delete(h as number);
  }
  /** Advances the clock, running due timers in time order. */
  advance(ms: number): void {
    const end = this.now + ms;
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const e of this.pending) if (e[1].at <= end && (!next || e[1].at < next[1].at)) next = e;
      if (!next) break;
      this.pending.delete(next[0]);
      this.now = next[1].at;
      next[1].fn();
    }
    this.now = end;
  }
}
