import assert from 'node:assert/strict';
import { NDP_INSNS, ARP_INSNS, runFilter } from '@l2lb/native';
import { buildGratuitousArp, buildUnsolicitedAdvert, parseIp, parseMac } from '../../src/l2/index.js';
import { CAPTURED, hex } from './frames.js';

describe('l2 BPF filters (interpreted on captured frames)', () => {
  const mac = parseMac('02:00:00:00:00:a1');
  it('the NDP filter accepts NS and NA with hop limit 255 and nothing else', () => {
    assert.ok(runFilter(NDP_INSNS, hex(CAPTURED.neighborSolicit)) > 0);
    assert.ok(runFilter(NDP_INSNS, hex(CAPTURED.neighborAdvert)) > 0);
    assert.ok(runFilter(NDP_INSNS, buildUnsolicitedAdvert(mac, parseIp('fd00::1'))) > 0);
    assert.equal(runFilter(NDP_INSNS, hex(CAPTURED.routerSolicit)), 0);
    assert.equal(runFilter(NDP_INSNS, hex(CAPTURED.arpRequest)), 0);
    const lowHop = hex(CAPTURED.neighborSolicit);
    lowHop[21] = 64;
    assert.equal(runFilter(NDP_INSNS, lowHop), 0);
  });
  it('the ARP filter accepts ARP only', () => {
    for (const f of buildGratuitousArp(mac, parseIp('10.0.0.1'))) assert.ok(runFilter(ARP_INSNS, f) > 0);
    assert.equal(runFilter(ARP_INSNS, hex(CAPTURED.neighborSolicit)), 0);
  });
});
