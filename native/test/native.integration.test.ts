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

  it('ARP reflex: answers plain requests for table IPs before JS runs, and nothing else', () => {
    const fixture = fileURLToPath(new URL('./fixtures/arp-reflex.js', import.meta.url));
    const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, fixture], { encoding: 'utf8', timeout: 15_000 });
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    const out = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>;
    const answered = { answered: 1, replies: 1 };
    const untouched = { answered: 0, replies: 0 };
    assert.deepEqual(out.plain, answered, 'broadcast request for a table IP');
    assert.equal(out.replyBytes, true, 'reply: to the requester, from the table MAC, sender IP = VIP');
    assert.deepEqual(out.unicastToUs, answered, 'unicast request to the table MAC');
    assert.deepEqual(out.otherTableIp, answered, 'the second IP of a replaced table');
    for (const k of ['otherIp', 'unicastElsewhere', 'announcementOfVip', 'arpReply', 'fromOwnMac', 'truncated', 'ignoredMac', 'removedIp', 'off']) {
      assert.deepEqual(out[k], untouched, `${k}: left to JS`);
    }
    assert.equal(out.badMac, 'TypeError');
    const m = out.mutants as { frames: number; answered: number; mismatches: string[] };
    assert.deepEqual(m.mismatches, [], 'the addon decides like the rule for every mutated request');
    assert.ok(m.answered > 100 && m.answered < m.frames - 100, `both outcomes exercised: ${m.answered}/${m.frames}`);
  });
});
