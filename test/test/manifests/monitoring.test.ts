// manifests/monitoring/prometheusrule.yaml against the PrometheusRule CRD schema of the Prometheus
// Operator (vendored fixture, source named in its header), and the dashboard is well-formed JSON with
// a PromQL target per panel. The metric names themselves are checked in speaker/test/run/monitoring.test.ts.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { at, find, isObj, list, loadDocuments, repoRoot, type Obj } from './load.js';
import { validate } from './schema.js';

const fixture = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'test', 'manifests', 'fixtures', 'prometheusrules.monitoring.coreos.com.yaml');

function ruleSchema(): Obj {
  const crd = find(loadDocuments(fixture), 'CustomResourceDefinition', 'prometheusrules.monitoring.coreos.com');
  const v = list(at(crd, 'spec.versions'), 'versions')[0];
  assert.ok(isObj(v));
  const s = at(v, 'schema.openAPIV3Schema');
  assert.ok(isObj(s));
  return s;
}

describe('manifests/monitoring', () => {
  const rule = loadDocuments(join(repoRoot, 'manifests', 'monitoring', 'prometheusrule.yaml'));

  it('the PrometheusRule passes the PrometheusRule CRD schema without a pruned field', () => {
    assert.equal(rule.length, 1);
    assert.deepEqual(validate(ruleSchema(), rule[0]), { errors: [], pruned: [] });
  });

  it('the schema check can fail: a bad duration and an unknown field are reported', () => {
    const bad = JSON.parse(JSON.stringify(rule[0])) as { spec: { groups: { rules: Record<string, unknown>[] }[] } };
    const r0 = bad.spec.groups[0]?.rules[0] as Record<string, unknown>;
    r0['for'] = '5 minutes';
    r0['severity'] = 'page';
    const res = validate(ruleSchema(), bad);
    assert.ok(
      res.errors.some((e) => /spec\.groups\[0\]\.rules\[0\]\.for: "5 minutes" does not match/.test(e)),
      res.errors.join('\n'),
    );
    assert.deepEqual(res.pruned, ['spec.groups[0].rules[0].severity']);
  });

  it('the rules cover what an operator needs, each with a summary', () => {
    const alerts = (at(rule[0] as Obj, 'spec.groups') as { rules: { alert: string; annotations?: { summary?: string } }[] }[]).flatMap((g) => g.rules);
    assert.deepEqual(alerts.map((a) => a.alert).sort(), [
      'L2lbAddressConflict',
      'L2lbConfigStale',
      'L2lbPoolNearlyFull',
      'L2lbServiceNotAnnounced',
      'L2lbSpeakerNotReady',
    ]);
    for (const a of alerts) assert.ok(a.annotations?.summary, a.alert);
  });

  it('the Grafana dashboard: unique panel ids, a PromQL target in every panel', () => {
    const d = JSON.parse(readFileSync(join(repoRoot, 'manifests', 'monitoring', 'dashboard.json'), 'utf8')) as {
      panels: { id: number; title: string; targets: { expr?: string }[] }[];
    };
    assert.equal(new Set(d.panels.map((p) => p.id)).size, d.panels.length);
    for (const p of d.panels) assert.ok(p.targets.length > 0 && p.targets.every((t) => typeof t.expr === 'string' && t.expr !== ''), p.title);
    const titles = d.panels.map((p) => p.title).join('|');
    for (const want of [/VIPs per node/, /Failover/, /requests and replies/, /Pool usage/, /Memberlist/]) assert.match(titles, want);
  });
});
