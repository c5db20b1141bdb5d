// The broadcast queue on its own (Go's TransmitLimitedQueue rules), without a cluster around it.
import assert from 'node:assert/strict';
import { TransmitLimitedQueue } from '../src/queue.js';

const bytes = (tag: number, length: number): Uint8Array => new Uint8Array(length).fill(tag);
const tags = (msgs: Uint8Array[]): number[] => msgs.map((m) => m[0] ?? -1);

describe('memberlist broadcast queue', () => {
  it('sends each message retransmitMult * ceil(log10(n + 1)) times, then drops and notifies it', () => {
    let nodes = 9;
    const q = new TransmitLimitedQueue(3, () => nodes);
    assert.equal(q.retransmitLimit(), 3); // ceil(log10(10)) = 1
    nodes = 10;
    assert.equal(q.retransmitLimit(), 6); // ceil(log10(11)) = 2
    nodes = 0;
    assert.equal(q.retransmitLimit(), 3, 'an empty table counts as one member');
    let notified = 0;
    q.queueBroadcast('a', bytes(1, 10), () => notified++);
    for (let i = 0; i < 3; i++) {
      assert.deepEqual(tags(q.getBroadcasts(2, 1000)), [1], `transmission ${i + 1}`);
      assert.equal(notified, i === 2 ? 1 : 0);
    }
    assert.equal(q.length, 0);
    assert.deepEqual(q.getBroadcasts(2, 1000), []);
  });

  it('a newer message about a member replaces the queued one, which is notified', () => {
    const q = new TransmitLimitedQueue(4, () => 3);
    const notified: string[] = [];
    q.queueBroadcast('a', bytes(1, 10), () => notified.push('a1'));
    q.queueBroadcast('b', bytes(2, 10), () => notified.push('b'));
    q.queueBroadcast('a', bytes(3, 10), () => notified.push('a2'));
    assert.deepEqual(notified, ['a1']);
    assert.equal(q.length, 2);
    assert.deepEqual(tags(q.getBroadcasts(0, 1000)).sort(), [2, 3]);
  });

  it('fills the byte budget least-sent first, then largest, then newest', () => {
    const q = new TransmitLimitedQueue(10, () => 3);
    q.queueBroadcast('small-old', bytes(1, 10));
    q.queueBroadcast('small-new', bytes(2, 10));
    q.queueBroadcast('large', bytes(3, 30));
    // 30 + 2 and 10 + 2 fit in 45; the third (another 12) does not.
    assert.deepEqual(tags(q.getBroadcasts(2, 45)), [3, 2]);
    // Now 'small-old' is the least sent: it goes first, then the others (largest first).
    assert.deepEqual(tags(q.getBroadcasts(2, 1000)), [1, 3, 2]);
    // A message larger than what is left is skipped; smaller ones after it still go.
    assert.deepEqual(tags(q.getBroadcasts(2, 27)), [1, 2]);
  });

  it('puts at most 255 messages in one packet', () => {
    const q = new TransmitLimitedQueue(4, () => 3);
    for (let i = 0; i < 300; i++) q.queueBroadcast(`n${i}`, bytes(i & 0xff, 1));
    assert.equal(q.getBroadcasts(0, 1 << 20).length, 255);
    assert.equal(q.getBroadcasts(0, 1 << 20).length, 255, 'the 45 left first, then 210 sent once');
  });
});
