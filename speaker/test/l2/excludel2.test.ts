// MetalLB's metallb-excludel2 ConfigMap: parsing, refusals, and the announcer applying a new list live.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Announcer } from '../../src/l2/announcer.js';
import { EXCLUDE_L2_KEY, parseExcludeL2 } from '../../src/l2/excludel2.js';
import { DEFAULT_EXCLUDE } from '../../src/l2/interfaces.js';
import { FakeNet, FakeTimers, iface } from './fakes.js';

const OBJECT = 'ConfigMap l2lb-system/metallb-excludel2';
const data = (yaml: string): Record<string, string> => ({ [EXCLUDE_L2_KEY]: yaml });

describe('l2: metallb-excludel2', () => {
  it("absent ConfigMap or key: the default list (MetalLB's)", () => {
    for (const d of [undefined, {}, { other: 'x' }]) {
      const r = parseExcludeL2(d, OBJECT);
      assert.ok(r.ok);
      assert.equal(r.source, 'default');
      assert.equal(r.exclude, DEFAULT_EXCLUDE);
    }
  });

  it("reads MetalLB's own manifest text; patterns are searched anywhere in the name, as Go's MatchString", () => {
    const r = parseExcludeL2(data('announcedInterfacesToExclude: ["^docker.*", "^cbr.*", "^lo$", "cali"]\n'), OBJECT);
    assert.ok(r.ok);
    assert.equal(r.source, 'configmap');
    assert.deepEqual(r.patterns, ['^docker.*', '^cbr.*', '^lo$', 'cali']);
    const excluded = (name: string): boolean => r.exclude.some((re) => re.test(name));
    assert.ok(excluded('docker0') && excluded('lo') && excluded('xcali9'));
    assert.ok(!excluded('eth0') && !excluded('lo0') && !excluded('mydocker'));
  });

  it('an empty or missing list excludes nothing, as in MetalLB', () => {
    for (const text of ['announcedInterfacesToExclude: []\n', '{}\n', '', 'announcedInterfacesToExclude:\n']) {
      const r = parseExcludeL2(data(text), OBJECT);
      assert.ok(r.ok, text);
      assert.deepEqual(r.exclude, [], text);
    }
  });

  it('refuses a bad regex, a wrong type or bad YAML with a message naming the ConfigMap and the field', () => {
    const error = (d: unknown): string => {
      const r = parseExcludeL2(d, OBJECT);
      assert.ok(!r.ok, JSON.stringify(d));
      return r.error;
    };
    assert.match(
      error(data('announcedInterfacesToExclude: ["^eth(", "^lo$"]\n')),
      /^ConfigMap l2lb-system\/metallb-excludel2 data.excludel2.yaml: announcedInterfacesToExclude\[0\] "\^eth\(" is not a valid regular expression/,
    );
    assert.match(error(data('announcedInterfacesToExclude: "^eth"\n')), /announcedInterfacesToExclude must be a list of regular expressions/);
    assert.match(error(data('announcedInterfacesToExclude: [1]\n')), /announcedInterfacesToExclude\[0\] must be a string/);
    assert.match(error(data('- a\n- b\n')), /must be a mapping with announcedInterfacesToExclude/);
    assert.match(error(data('announcedInterfacesToExclude: [ {\n')), /data.excludel2.yaml.*not valid YAML/);
    assert.match(error({ [EXCLUDE_L2_KEY]: 5 }), /must be text/);
    assert.match(error(data(`announcedInterfacesToExclude: ["${'a'.repeat(2000)}"]\n`)), /the limit is 1024/);
  });

  it('never throws on arbitrary data (property)', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.anything(),
          fc.string().map(data),
          fc.array(fc.string()).map((l) => data(`announcedInterfacesToExclude: ${JSON.stringify(l)}\n`)),
        ),
        (d) => {
          const r = parseExcludeL2(d, OBJECT);
          assert.equal(typeof r.ok, 'boolean');
        },
      ),
      { numRuns: 500 },
    );
  });

  it('the announcer applies a new list at once: newly excluded interfaces close, no longer excluded ones open', () => {
    const net = new FakeNet();
    net.ifaces = [iface('eth0', 2, '02:00:00:00:00:a1'), iface('veth12', 3, '02:00:00:00:00:a2')];
    const timers = new FakeTimers();
    const a = new Announcer({ socketFactory: net.factory, listInterfaces: net.list, timers, now: () => timers.now, garpCount: 1 });
    a.start();
    assert.deepEqual(a.interfaces(), ['eth0'], 'veth excluded by default');
    const custom = parseExcludeL2(data('announcedInterfacesToExclude: ["^eth0$"]\n'), OBJECT);
    assert.ok(custom.ok);
    a.setExclude(custom.exclude);
    assert.deepEqual(a.interfaces(), ['veth12']);
    a.setExclude(undefined);
    assert.deepEqual(a.interfaces(), ['eth0']);
    a.stop();
  });
});
