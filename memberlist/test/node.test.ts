// Real sockets, in process: IPv4 and IPv6 loopback, labels, user messages, hostile input on the
// live UDP and TCP ports.
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { readdirSync } from 'node:fs';
import net from 'node:net';
import { makeConfig } from '../src/config.js';
import { Keyring, metallbKey } from '../src/crypto.js';
import { MemberlistEvents } from '../src/memberlist.js';
import { MemberlistNode, type NodeLogger } from '../src/node.js';
import { defaultWireOptions } from '../src/wire.js';
import { waitFor } from './helpers.js';

const BASE = 30000 + (process.pid % 15000);
let seq = 0;

describe('memberlist node on real sockets', function () {
  this.timeout(20_000);
  const nodes: MemberlistNode[] = [];

  afterEach(async () => {
    await Promise.all(nodes.map((n) => n.close()));
    nodes.length = 0;
  });

  async function mk(
    name: string,
    ip: string,
    over: Parameters<typeof defaultWireOptions>[0] = {},
    meta?: string,
    events: MemberlistEvents = {},
    logger?: NodeLogger,
  ): Promise<MemberlistNode> {
    const port = BASE + seq++;
    const n = new MemberlistNode(
      makeConfig(name, ip, port, {
        wire: defaultWireOptions(over),
        meta: meta === undefined ? null : new TextEncoder().encode(meta),
      }),
      { bindIp: ip, bindPort: port, logger },
      events,
    );
    nodes.push(n);
    await n.start();
    return n;
  }

  function joinTo(a: MemberlistNode, b: MemberlistNode): Promise<{ n: number; errs: string[] }> {
    return new Promise((r) => a.ml.join([{ ip: b.ml.cfg.advertiseIp, port: b.ml.cfg.advertisePort }], (n, errs) => r({ n, errs })));
  }

  it('a start that cannot bind closes what it opened (callers retry: no descriptor leak)', async () => {
    const openFds = (): number => readdirSync('/proc/self/fd').length;
    const port = BASE + seq++;
    const taken = dgram.createSocket('udp4');
    await new Promise<void>((r) => taken.bind(port, '127.0.0.1', () => r()));
    const tcpTaken = net.createServer();
    await new Promise<void>((r) => tcpTaken.listen(port + 1, '127.0.0.1', () => r()));
    try {
      const before = openFds();
      for (let i = 0; i < 20; i++) {
        for (const p of [port, port + 1]) {
          // the UDP port taken, then only the TCP port taken
          const n = new MemberlistNode(makeConfig('busy', '127.0.0.1', p), { bindIp: '127.0.0.1', bindPort: p });
          await assert.rejects(n.start(), /EADDRINUSE/);
        }
      }
      // Closed sockets release their descriptors asynchronously: wait, with a deadline.
      await waitFor(() => openFds() <= before + 2, { timeoutMs: 3000, what: 'descriptors of failed starts to be released' });
    } finally {
      taken.close();
      tcpTaken.close();
    }
  });

  it('close() while start() is binding wins: the node never runs', async () => {
    const port = BASE + seq++;
    const n = new MemberlistNode(makeConfig('closing', '127.0.0.1', port), { bindIp: '127.0.0.1', bindPort: port });
    const starting = n.start();
    await n.close();
    await starting;
    // The ports are free again: a new node can start there (its sockets may take a moment to go).
    const deadline = Date.now() + 3000;
    for (;;) {
      const again = new MemberlistNode(makeConfig('again', '127.0.0.1', port), { bindIp: '127.0.0.1', bindPort: port });
      const ok = await again.start().then(
        () => true,
        () => false,
      );
      await again.close();
      if (ok) break;
      assert.ok(Date.now() < deadline, 'the closed node still holds its port');
      await new Promise((r) => setTimeout(r, 20));
    }
  });

  it('two nodes on IPv6 loopback join and see each other (16-byte addresses)', async () => {
    const a = await mk('v6-a', '::1');
    const b = await mk('v6-b', '::1');
    const r = await joinTo(b, a);
    assert.equal(r.n, 1, r.errs.join(';'));
    await waitFor(() => a.ml.members().length === 2 && b.ml.members().length === 2, { timeoutMs: 5000, what: 'IPv6 convergence' });
    assert.equal(a.ml.node('v6-b')?.addr, '::1');
  });

  it('a label is required to match; labeled encrypted nodes form a cluster', async () => {
    const keyring = new Keyring([metallbKey('s')]);
    const a = await mk('lab-a', '127.0.0.1', { label: 'cluster-a', keyring });
    const b = await mk('lab-b', '127.0.0.1', { label: 'cluster-a', keyring });
    const c = await mk('lab-c', '127.0.0.1', { label: 'cluster-b', keyring });
    assert.equal((await joinTo(b, a)).n, 1);
    const bad = await joinTo(c, a);
    assert.equal(bad.n, 0);
    assert.ok((a.ml.drops.get('label_mismatch') ?? 0) >= 1);
    await waitFor(() => a.ml.members().length === 2, { timeoutMs: 5000 });
  });

  it('delivers user messages over UDP and TCP, and metadata in the join', async () => {
    const got: string[] = [];
    const a = await mk('u-a', '127.0.0.1', {}, 'zone=a');
    const b = await mk('u-b', '127.0.0.1', {}, undefined, { message: (d) => got.push(Buffer.from(d).toString()) });
    assert.equal((await joinTo(b, a)).n, 1);
    assert.equal(Buffer.from(b.ml.node('u-a')?.meta ?? []).toString(), 'zone=a');
    await waitFor(() => a.ml.node('u-b') !== undefined, { timeoutMs: 5000 });
    a.ml.sendBestEffort('u-b', new TextEncoder().encode('hello'));
    await waitFor(() => got.includes('hello'), { timeoutMs: 5000, what: 'user message' });
    const err = await new Promise<string | null>((r) => a.ml.sendReliable('u-b', new TextEncoder().encode('over tcp'), r));
    assert.equal(err, null);
    await waitFor(() => got.includes('over tcp'), { timeoutMs: 5000, what: 'TCP user message' });
  });

  it('garbage on the live UDP and TCP ports is dropped and counted, and the node keeps working', async () => {
    const a = await mk('g-a', '127.0.0.1', { keyring: new Keyring([metallbKey('k')]) });
    const b = await mk('g-b', '127.0.0.1', { keyring: new Keyring([metallbKey('k')]) });
    const port = a.ml.cfg.advertisePort;
    const sock = dgram.createSocket('udp4');
    for (const junk of [Buffer.alloc(0), Buffer.from([0xf4]), Buffer.from([1, 2, 3]), Buffer.alloc(1400, 0xff), Buffer.from([0, 0x85])]) {
      await new Promise<void>((r) => sock.send(junk, port, '127.0.0.1', () => r()));
    }
    sock.close();
    // TCP: an unencrypted push/pull (rejected with an errResp) and a stream that never completes.
    const reply = await new Promise<Buffer>((resolve) => {
      const c = net.connect({ host: '127.0.0.1', port }, () => c.write(Buffer.from([6, 0x83])));
      const parts: Buffer[] = [];
      c.on('data', (d) => parts.push(d));
      c.on('close', () => resolve(Buffer.concat(parts)));
      c.setTimeout(3000, () => c.destroy());
      setTimeout(() => c.end(), 200);
    });
    assert.ok(reply.length === 0 || reply[0] === 10, 'an error reply must be encrypted like every stream');
    await waitFor(() => [...a.ml.drops.values()].reduce((x, y) => x + y, 0) >= 4, { timeoutMs: 3000, what: 'drops counted' });
    assert.equal((await joinTo(b, a)).n, 1);
    await waitFor(() => a.ml.members().length === 2, { timeoutMs: 5000 });
  });

  it('a flood of bad packets is counted exactly but logged once per reason and source', async () => {
    const warnings: Array<Record<string, unknown> | undefined> = [];
    const logger: NodeLogger = {
      info: () => undefined,
      debug: () => undefined,
      warn: (msg, meta) => {
        if (msg === 'dropped input') warnings.push(meta);
      },
    };
    const a = await mk('flood-a', '127.0.0.1', {}, undefined, {}, logger);
    const port = a.ml.cfg.advertisePort;
    const sock = dgram.createSocket('udp4');
    for (let i = 0; i < 300; i++) await new Promise<void>((r) => sock.send(Buffer.from([0xf4, 0]), port, '127.0.0.1', () => r()));
    sock.close();
    await waitFor(() => [...a.ml.drops.values()].reduce((x, y) => x + y, 0) >= 300, { timeoutMs: 5000, what: '300 drops counted' });
    assert.equal(
      [...a.ml.drops.values()].reduce((x, y) => x + y, 0),
      300,
      'every drop is counted',
    );
    assert.equal(warnings.length, 1, `one log line for one reason from one source, got ${warnings.length}`);
  });
});
