import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';

function sh(args: string[], allowFail = false): void {
  const r = spawnSync('ip', args, { encoding: 'utf8', timeout: 10_000 });
  if (r.status !== 0 && !allowFail) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
}

describe('native: AF_PACKET socket in a network namespace @integration', function () {
  this.timeout(20_000);
  const ns = `l2nnat${process.pid}-${randomBytes(2).toString('hex')}`;

  before(function () {
    if (process.getuid?.() !== 0) {
      if (process.env['CI'] === 'true') throw new Error('CI must run the AF_PACKET tests as root');
      this.skip();
    }
    sh(['netns', 'add', ns]);
    sh(['-n', ns, 'link', 'add', 'd0', 'type', 'veth', 'peer', 'name', 'd1']);
    sh(['-n', ns, 'link', 'set', 'd1', 'address', '02:00:00:00:00:d1']);
    sh(['-n', ns, 'link', 'set', 'd0', 'up']);
    sh(['-n', ns, 'link', 'set', 'd1', 'up']);
  });

  after(() => sh(['netns', 'del', ns], true));

  it('receives, reports ENETDOWN on link down, keeps working after link up, joins multicast, closes', () => {
    const fixture = fileURLToPath(new URL('./fixtures/link-flap.js', import.meta.url));
    const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, fixture], { encoding: 'utf8', timeout: 15_000 });
    const out = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>;
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    assert.equal(out.received, true);
    assert.equal(out.errorOnDown, 'ENETDOWN');
    assert.equal(out.receivedAfterFlap, true);
    assert.equal(out.maddr, true);
    assert.equal(out.tapOnlyArp, true, 'protocol all + FILTER_ARP passes ARP only and ignores own outgoing frames');
    assert.equal(out.sendAfterClose, 'EBADF');
    assert.ok((out.stats as { packets: number }).packets >= 2);
  });
});
