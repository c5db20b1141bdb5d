import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { PacketSocket, listInterfaces, addonPath } from '../src/index.js';

describe('native: AF_PACKET addon (no root needed)', () => {
  it('refuses an unknown interface name with ENODEV instead of binding ifindex 0', () => {
    assert.throws(
      () => PacketSocket.open({ ifname: 'l2nnosuchif0', protocol: 'arp' }),
      (e: Error & { code?: string }) => e.code === 'ENODEV' && /no interface named 'l2nnosuchif0'/.test(e.message),
    );
    assert.throws(() => PacketSocket.open({ ifname: '', protocol: 'arp' }), /interface name is required/);
  });

  it('lists interfaces with index, flags and addresses (loopback present)', () => {
    const lo = listInterfaces().find((i) => i.name === 'lo');
    assert.ok(lo, 'lo listed');
    assert.ok(lo.index > 0);
    assert.ok(lo.loopback && lo.up);
    assert.ok(lo.addresses.some((a) => a.family === 4 && a.address === '127.0.0.1' && a.prefixLen === 8));
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
    const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '--inh-caps=-all',
      process.execPath, '--input-type=module', '-e', script], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim()) as { code: string; message: string };
    assert.equal(out.code, 'EPERM');
    assert.match(out.message, /CAP_NET_RAW/);
    assert.ok(addonPath.endsWith('.node'));
  });
});
