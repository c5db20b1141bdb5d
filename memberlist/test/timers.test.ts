import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import type { AddressInfo } from 'node:net';
import { LATE_TIMER_MS, LateAwareTimers } from '../src/timers.js';

/** Holds the event loop (and so every timer and socket read) for ms, as a throttled or busy process would be. */
function holdLoop(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    /* busy */
  }
}

describe('LateAwareTimers', () => {
  it('runs an on-time timer at once and a cancelled one never', async () => {
    const timers = new LateAwareTimers();
    const ran: string[] = [];
    timers.set(5, () => ran.push('a'));
    timers.set(5, () => ran.push('b')).cancel();
    await new Promise((r) => setTimeout(r, 40));
    assert.deepEqual(ran, ['a']);
    assert.equal(timers.size, 0);
  });

  it('(the problem) a plain setTimeout that fell due while the loop was held runs before the waiting datagram is read', async () => {
    const rx = dgram.createSocket('udp4');
    const tx = dgram.createSocket('udp4');
    await new Promise<void>((r) => rx.bind(0, '127.0.0.1', r));
    const order: string[] = [];
    rx.on('message', () => order.push('answer read'));
    try {
      setTimeout(() => order.push('deadline'), 10);
      await new Promise<void>((r) => tx.send('ack', (rx.address() as AddressInfo).port, '127.0.0.1', () => r()));
      holdLoop(60);
      await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(order, ['deadline', 'answer read']);
    } finally {
      rx.close();
      tx.close();
    }
  });

  it('lets a datagram that arrived while the loop was held be read before a late timer decides', async () => {
    const rx = dgram.createSocket('udp4');
    const tx = dgram.createSocket('udp4');
    await new Promise<void>((r) => rx.bind(0, '127.0.0.1', r));
    const order: string[] = [];
    rx.on('message', () => order.push('answer read'));
    const lates: number[] = [];
    const timers = new LateAwareTimers({ onLate: (l) => lates.push(l) });
    try {
      timers.set(10, () => order.push('deadline'));
      // The answer is in the kernel's buffer before the loop is held; the deadline falls due meanwhile.
      await new Promise<void>((r) => tx.send('ack', (rx.address() as AddressInfo).port, '127.0.0.1', () => r()));
      holdLoop(60);
      await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(order, ['answer read', 'deadline']);
      assert.equal(lates.length, 1);
      assert.ok((lates[0] ?? 0) > LATE_TIMER_MS);
    } finally {
      timers.clearAll();
      rx.close();
      tx.close();
    }
  });

  it('a timer cancelled by what was read first (the ack cancels the deadline) does not run', async () => {
    const rx = dgram.createSocket('udp4');
    const tx = dgram.createSocket('udp4');
    await new Promise<void>((r) => rx.bind(0, '127.0.0.1', r));
    const timers = new LateAwareTimers();
    let fired = false;
    const deadline = timers.set(10, () => {
      fired = true;
    });
    rx.on('message', () => deadline.cancel());
    try {
      await new Promise<void>((r) => tx.send('ack', (rx.address() as AddressInfo).port, '127.0.0.1', () => r()));
      holdLoop(60);
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(fired, false);
    } finally {
      timers.clearAll();
      rx.close();
      tx.close();
    }
  });

  it('reports a throwing callback instead of throwing', async () => {
    const errors: unknown[] = [];
    const timers = new LateAwareTimers({ onError: (e) => errors.push(e) });
    timers.set(0, () => {
      throw new Error('boom');
    });
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(errors.length, 1);
  });
});
