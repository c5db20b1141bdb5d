import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { PacketSocket, listInterfaces, addonPath, loadAddon } from '../src/index.js';
import { expectedReply, shouldAnswer } from './fixtures/arp-reflex-rule.js';

describe('native: AF_PACKET addon (no root needed)', () => {
  it('refuses an unknown interface name with ENODEV instead of binding ifindex 0', () => {
    assert.throws(
      () => PacketSocket.open({ ifname: 'l2nnosuchif0', protocol: 'arp' }),
      (e: Error & { code?: string }) => e.code === 'ENODEV' && /no interface named 'l2nnosuchif0'/.test(e.message),
    );
    assert.throws(() => PacketSocket.open({ ifname: '', protocol: 'arp' }), /interface name is required/);
  });

  it('releaseFreeMemory gives C-heap memory freed inside malloc arenas back to the kernel', () => {
    const child = (mode: 'release' | 'keep'): { before: number; after: number; released: boolean; arrayBuffers: number } => {
      const main = new URL('./fixtures/fragmented-heap-main.js', import.meta.url).pathname;
      const r = spawnSync(process.execPath, ['--expose-gc', main, mode], { encoding: 'utf8', timeout: 30_000 });
      assert.equal(r.status, 0, r.stderr);
      return JSON.parse(r.stdout) as { before: number; after: number; released: boolean; arrayBuffers: number };
    };
    // 22 MB of 4 kB Buffers freed between survivors: without the trim the process keeps them.
    const kept = child('keep');
    assert.ok(kept.arrayBuffers < 4 * 1048576, `V8 freed the Buffers (${kept.arrayBuffers} bytes left)`);
    assert.ok(kept.before - kept.after < 2048, `without releaseFreeMemory RSS stays (${JSON.stringify(kept)})`);
    const released = child('release');
    assert.equal(released.released, true);
    assert.ok(released.before - released.after > 12 * 1024, `RssAnon fell by over 12 MB (${JSON.stringify(released)})`);
  });

  it('lists interfaces with index, flags and addresses (loopback present)', () => {
    const lo = listInterfaces().find((i) => i.name === 'lo');
    assert.ok(lo, 'lo listed');
    assert.ok(lo.index > 0);
    assert.ok(lo.loopback && lo.up);
    assert.ok(lo.addresses.some((a) => a.family === 4 && a.address === '127.0.0.1' && a.prefixLen === 8));
  });
});

describe('native: ARP reflex decision through the test-only entry point (no socket)', () => {
  const mac = Buffer.from('02000000000a', 'hex');
  const vip = Buffer.from([10, 77, 0, 100]);
  const request = Buffer.concat([
    Buffer.alloc(6, 0xff),
    Buffer.from('0200000000d1', 'hex'),
    Buffer.from('08060001080006040001', 'hex'),
    Buffer.from('0200000000d1', 'hex'),
    Buffer.from([10, 77, 0, 1]),
    Buffer.alloc(6),
    vip,
  ]);
  const decide = (frame: Buffer, pkttype = 0): Buffer | null => loadAddon()._testArpReflex(mac, vip, mac, frame, pkttype);

  it('answers a plain request with the reply the TypeScript rule states', () => {
    assert.ok(shouldAnswer(request, [vip], mac, [mac]));
    assert.deepEqual(decide(request), expectedReply(request, mac));
  });

  it('answers nothing for a truncated frame, an outgoing one, or one from an ignored MAC', () => {
    for (let n = 0; n < 42; n++) assert.equal(decide(request.subarray(0, n)), null, `${n} bytes`);
    assert.equal(decide(request, 4), null, 'PACKET_OUTGOING');
    const fromUs = Buffer.from(request);
    mac.copy(fromUs, 22);
    assert.equal(decide(fromUs), null);
  });

  it('refuses a malformed table with a TypeError', () => {
    assert.throws(() => loadAddon()._testArpReflex(Buffer.alloc(5), vip, mac, request, 0), TypeError);
    assert.throws(() => loadAddon()._testArpReflex(mac, Buffer.alloc(3), mac, request, 0), TypeError);
  });
});

describe('native: privileges @integration', () => {
  it('says CAP_NET_RAW is needed when opening without it (EPERM)', function () {
    if (process.getuid?.() !== 0) {
      if (process.env['CI'] === 'true') throw new Error('CI must run the AF_PACKET tests as root');
      this.skip();
    }
    const script = `import(${JSON.stringify(new URL('../src/index.js', import.meta.url).href)}).then((m) => {
      try { m.PacketSocket.open({ ifname: 'lo', protocol: 'arp' }); console.log('opened'); }
      catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); } })`;
    const r = spawnSync(
      'setpriv',
      ['--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all', process.execPath, '--input-type=module', '-e', script],
      { encoding: 'utf8' },
    );
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim()) as { code: string; message: string };
    assert.equal(out.code, 'EPERM');
    assert.match(out.message, /CAP_NET_RAW/);
    assert.ok(addonPath.endsWith('.node'));
  });
});
