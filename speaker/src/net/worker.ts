// The speaker's network thread (a worker_thread): a LocalNetwork on the real sockets, driven by the
// main thread's messages. Its own work is tiny (acks, the ARP reflex, gratuitous bursts), so the kernel
// runs it promptly however busy the main thread's Kubernetes side is.
import { parentPort, workerData } from 'node:worker_threads';
import { errorText, type Logger } from '@l2lb/shared/log';
import { Announcer } from '../l2/announcer.js';
import { nativeListInterfaces, nativeSocketFactory, nativeWatchLinks } from '../l2/native.js';
import type { AnnouncerOp, FromNetwork, LogLevel, NetworkSnapshot, NetworkThreadData, ReplyValue, ToNetwork } from './messages.js';
import { LocalNetwork } from './network.js';

const port = parentPort;
if (!port) throw new Error('speaker/src/net/worker.js runs only as a worker thread');
const data = workerData as NetworkThreadData;
const send = (m: FromNetwork): void => port.postMessage(m);

const RANK: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };
/** Log lines go to the main thread's logger, with the time they happened here. */
function threadLogger(component: string): Logger {
  const at =
    (level: LogLevel) =>
    (message: string, meta?: Record<string, unknown>): void => {
      if (RANK[level] > RANK[data.logLevel]) return;
      send({ t: 'log', level, message, meta: { ...meta, component }, timestamp: new Date().toISOString() });
    };
  return { error: at('error'), warn: at('warn'), info: at('info'), debug: at('debug') };
}

const announcer = new Announcer({
  socketFactory: nativeSocketFactory(),
  listInterfaces: nativeListInterfaces,
  watchLinks: nativeWatchLinks,
  logger: threadLogger('l2-announcer'),
});
const network = new LocalNetwork(announcer, threadLogger('memberlist'));
network.on('link', (event) => send({ t: 'link', event, interfaces: network.interfaces() }));
network.on('conflict', (event) => send({ t: 'conflict', event }));
network.on('members', (event) => send({ t: 'members', event }));

// How long this thread could not run: a 20 ms tick that arrives late was held up by this thread's own
// work or by the machine (CPU starved). Shown in /metrics; a hold-up beyond 100 ms is logged (once per 10 s).
const TICK_MS = 20;
const HELD_LOG_MS = 100;
const held = { maxMs: 0, over100: 0, lastLogAt: -Infinity, unlogged: 0 };
let lastTick = performance.now();
setInterval(() => {
  const now = performance.now();
  const heldMs = now - lastTick - TICK_MS;
  lastTick = now;
  if (heldMs > held.maxMs) held.maxMs = heldMs;
  if (heldMs <= HELD_LOG_MS) return;
  held.over100++;
  held.unlogged++;
  if (now - held.lastLogAt < 10_000) return;
  held.lastLogAt = now;
  threadLogger('network-thread').warn(`the network thread was held up for ${Math.round(heldMs)} ms (memberlist acks and ARP replies waited)`, {
    heldMs: Math.round(heldMs),
    sinceLastLine: held.unlogged,
  });
  held.unlogged = 0;
}, TICK_MS).unref();

function snapshot(): NetworkSnapshot {
  const ml = network.memberlistMetrics;
  return {
    announcer: network.stats(),
    announced: network.announced(),
    interfaces: network.interfaces(),
    memberlist: { states: ml.allNodes().map((n) => n.state), healthScore: ml.healthScore(), drops: [...ml.drops], stats: { ...ml.stats } },
    heldUp: { maxMs: held.maxMs, over100: held.over100 },
  };
}

function answer(id: number, work: () => Promise<ReplyValue>): void {
  work().then(
    (value) => send({ t: 'reply', id, value }),
    (e: unknown) => send({ t: 'reply', id, error: errorText(e) }),
  );
}

function apply(op: AnnouncerOp): void {
  switch (op.t) {
    case 'announce':
      network.announce(op.ip, op.interfaces);
      return;
    case 'withdraw':
      network.withdraw(op.ip);
      return;
    case 'reassert':
      network.reassert(op.ip);
      return;
    case 'exclude':
      network.setExclude(op.exclude);
      return;
  }
}

port.on('message', (m: ToNetwork) => {
  switch (m.t) {
    case 'start':
      return answer(m.id, async () => {
        await network.start();
        return { kind: 'started', interfaces: network.interfaces() };
      });
    case 'ops':
      // One task for the whole batch: the announcer rebuilds the ARP reflex table once, after it.
      for (const op of m.ops) apply(op);
      return;
    case 'memberlist':
      return answer(m.id, async () => {
        await network.startMemberlist(m.spec);
        return { kind: 'done' };
      });
    case 'join':
      return answer(
        m.id,
        () => new Promise<ReplyValue>((resolve) => network.join(m.target, (contacted, errors) => resolve({ kind: 'joined', contacted, errors }))),
      );
    case 'leave':
      return answer(m.id, async () => {
        await network.leave(m.timeoutMs);
        return { kind: 'done' };
      });
    case 'snapshot':
      return answer(m.id, async () => ({ kind: 'snapshot', snapshot: snapshot() }));
    case 'stop':
      return answer(m.id, async () => {
        await network.stop();
        // Nothing may keep the thread alive after this: the main thread ends it.
        return { kind: 'done' };
      });
  }
});
