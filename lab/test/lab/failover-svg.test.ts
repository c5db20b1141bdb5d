// The failover picture is well-formed SVG with one row per kill and each phase placed on the time axis.
import assert from 'node:assert/strict';
import { failoverSvg } from '../../src/lab/failover-svg.js';

describe('failover SVG', () => {
  const svg = failoverSvg('t <&>', [
    {
      label: 'fast',
      kills: [
        { from: 'n1', to: 'n2', detectedMs: 180, announcedMs: 190, clientMs: 300 },
        { from: 'n2', to: 'n3', detectedMs: 200, announcedMs: 205, clientMs: 320 },
      ],
    },
    { label: 'lan', kills: [{ from: 'n1', to: 'n3', detectedMs: 5000, announcedMs: 5010, clientMs: 5200 }, { from: 'n3' }] },
  ]);

  it('is one escaped SVG document with a row per kill', () => {
    assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    assert.match(svg, /<\/svg>\n$/);
    assert.ok(svg.includes('t &lt;&amp;&gt;'));
    assert.equal((svg.match(/kill \d: /g) ?? []).length, 4);
    assert.match(svg, /n3 → nobody.*\n.*no failover within the deadline/);
  });

  it('places phases in order on the axis and reports the medians', () => {
    const xs = (what: string): number[] => [...svg.matchAll(new RegExp(`c?x="([\\d.]+)"[^>]*>(?:<title>)?${what}`, 'g'))].map((m) => Number(m[1]));
    const [dead] = xs('declared dead \\+180 ms');
    const [ann] = xs('announcing \\+190 ms');
    assert.ok(dead !== undefined && ann !== undefined && dead < ann, `${dead} < ${ann}`);
    assert.match(svg, /fast \(p50 300 ms, n=2\)/);
    assert.match(svg, /lan \(p50 5200 ms, n=1\)/);
  });
});
