// Measures how fast memberlist members answer: sends a memberlist ping (encrypted with SECRET as
// MetalLB derives the key) to every TARGET in turn, one every INTERVAL_MS per target, for SECONDS,
// and prints one JSON line with each target's ack round-trip times. The targets are measured by the
// same process at the same time, so one of them (an idle agent) is the reference for the machine's
// own scheduling delays.
// usage: node ml-pinger-main.js BIND_IP SECRET SECONDS INTERVAL_MS TARGET_IP:PORT...
import dgram from 'node:dgram';
import { Keyring, decodePacket, defaultWireOptions, encodePacket, ipToBytes, metallbKey } from '@l2lb/memberlist';
import { encodeMsg } from '@l2lb/memberlist/messages';

const [bind, secret, secondsArg, intervalArg, ...targetArgs] = process.argv.slice(2);
const seconds = Number(secondsArg);
const intervalMs = Number(intervalArg);
if (!bind || secret === undefined || !(seconds > 0) || !(intervalMs > 0) || targetArgs.length === 0) {
  process.stderr.write('usage: ml-pinger-main.js BIND_IP SECRET SECONDS INTERVAL_MS TARGET_IP:PORT...\n');
  process.exit(2);
}
const TIMEOUT_MS = 2000;
const targets = targetArgs.map((t) => {
  const i = t.lastIndexOf(':');
  return { ip: t.slice(0, i), port: Number(t.slice(i + 1)), rtts: [] as number[], lost: 0, slow: [] as { sentAt: string; ms: number }[] };
});
const wire = defaultWireOptions({ keyring: secret === '' ? null : new Keyring([metallbKey(secret)]) });
const sock = dgram.createSocket('udp4');
const pending = new Map<number, { at: number; target: (typeof targets)[number]; timer: NodeJS.Timeout }>();
sock.on('message', (buf) => {
  const now = performance.now();
  for (const m of decodePacket(new Uint8Array(buf), wire).msgs) {
    if (m.type !== 'ackResp') continue;
    const p = pending.get(m.msg.seqNo);
    if (!p) continue;
    clearTimeout(p.timer);
    pending.delete(m.msg.seqNo);
    p.target.rtts.push(now - p.at);
    // When the slow ones were sent (wall clock), to line them up with the target's own logs.
    if (now - p.at > 100 && p.target.slow.length < 50)
      p.target.slow.push({ sentAt: new Date(Date.now() - (now - p.at)).toISOString(), ms: Math.round(now - p.at) });
  }
});
await new Promise<void>((r) => sock.bind(0, bind, () => r()));
const sourcePort = sock.address().port;
let seqNo = 1;
const send = (target: (typeof targets)[number]): void => {
  const seq = seqNo++;
  const msg = encodeMsg({ type: 'ping', msg: { seqNo: seq, node: '', sourceAddr: ipToBytes(bind), sourcePort, sourceNode: 'busy-pinger' } });
  const timer = setTimeout(() => {
    pending.delete(seq);
    target.lost += 1;
  }, TIMEOUT_MS);
  pending.set(seq, { at: performance.now(), target, timer });
  sock.send(encodePacket([msg], { ...wire, compression: false }), target.port, target.ip);
};
// The targets take turns within each interval, so both see the same moments of machine load.
let turn = 0;
const stepMs = intervalMs / targets.length;
const ticker = setInterval(() => send(targets[turn++ % targets.length] as (typeof targets)[number]), stepMs);
setTimeout(() => {
  clearInterval(ticker);
  setTimeout(() => {
    process.stdout.write(
      `${JSON.stringify({ event: 'pings', targets: targets.map((t) => ({ target: `${t.ip}:${t.port}`, rtts: t.rtts.map((x) => Math.round(x * 100) / 100), lost: t.lost, slow: t.slow })) })}\n`,
    );
    sock.close();
    process.exit(0);
  }, TIMEOUT_MS + 100);
}, seconds * 1000);
