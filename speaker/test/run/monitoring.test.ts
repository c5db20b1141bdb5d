// manifests/monitoring: every metric name and label the PrometheusRule and the Grafana dashboard use
// is exported by the processes. The /metrics text comes from a real SpeakerProcess (embedded API
// server, memberlist on loopback, one announced Service, fake sockets) and the controller's metrics
// module with pools set. Adding metrics never breaks this test; renaming or dropping a used one does.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseYamlValue } from '@l2lb/shared';
import { freePort } from '@l2lb/apiserver/testing/free-port';
import { Resources } from '@l2lb/shared/kube/types';
import { Announcer } from '../../src/l2/announcer.js';
import { parseRunArgs, type RunOptions } from '../../src/run/options.js';
import { SpeakerProcess } from '../../src/run/process.js';
import { FakeNet, iface } from '../l2/fakes.js';
import { waitFor } from '../helpers/wait.js';
import { createService, memoryLogger, startEmbedded, type Embedded } from '../helpers/embedded.js';

const MONITORING = fileURLToPath(new URL('../../../../manifests/monitoring/', import.meta.url));

/** Aggregation operators: followed by `by (...)` or `(`, never metrics. */
const AGGREGATIONS = new Set(['sum', 'min', 'max', 'avg', 'count', 'stddev', 'stdvar', 'topk', 'bottomk', 'quantile', 'count_values', 'group']);
const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'inf', 'nan']);
/** Series Prometheus makes itself, not the processes. */
const BUILTIN = new Set(['up']);

export interface PromqlUse {
  metrics: Set<string>;
  /** metric → labels used in its matchers; '*' → labels used in by/without/on clauses (any metric). */
  labels: Map<string, Set<string>>;
}

/** Metric names and label names a PromQL expression uses (enough PromQL for rules and dashboards). */
export function promqlUses(expr: string): PromqlUse {
  const metrics = new Set<string>();
  const labels = new Map<string, Set<string>>();
  const add = (m: string, l: string): void => {
    if (!labels.has(m)) labels.set(m, new Set());
    labels.get(m)?.add(l);
  };
  const e = expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""').replace(/\[[^\]]*\]/g, '');
  const tokens = /([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{[^}]*\}|\()?|(\{[^}]*\})/g;
  let last: string | undefined;
  for (const t of e.matchAll(tokens)) {
    const [, ident, after, bare] = t;
    if (bare !== undefined) continue;
    if (ident === undefined) continue;
    const clause = /^(by|without|on|ignoring|group_left|group_right)$/.test(ident);
    if (clause) {
      const list = /^\s*\(([^)]*)\)/.exec(e.slice((t.index ?? 0) + ident.length));
      for (const l of (list?.[1] ?? '')
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean))
        add('*', l);
      last = ident;
      continue;
    }
    if (KEYWORDS.has(ident.toLowerCase()) || AGGREGATIONS.has(ident) || after === '(' || /^\d/.test(ident)) continue;
    if (last !== undefined && /^(by|without|on|ignoring|group_left|group_right)$/.test(last)) {
      // identifiers inside the clause's parentheses were taken above
      const before = e.slice(0, t.index ?? 0);
      if (/\([^()]*$/.test(before) && /(by|without|on|ignoring|group_left|group_right)\s*\([^()]*$/.test(before)) continue;
    }
    metrics.add(ident);
    if (after?.startsWith('{')) for (const m of after.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)/g)) add(ident, m[1] as string);
    last = ident;
  }
  return { metrics, labels };
}

/** metric name → label names seen on its samples. */
function exported(text: string): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})?\s/.exec(line);
    if (!m) continue;
    const set = out.get(m[1] as string) ?? new Set<string>();
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="/g)) set.add(l[1] as string);
    out.set(m[1] as string, set);
  }
  return out;
}

function expressions(): { where: string; expr: string }[] {
  const rule = parseYamlValue(readFileSync(`${MONITORING}prometheusrule.yaml`, 'utf8'), 'prometheusrule.yaml') as {
    spec: { groups: { rules: { alert: string; expr: string }[] }[] };
  };
  const dash = JSON.parse(readFileSync(`${MONITORING}dashboard.json`, 'utf8')) as { panels: { title: string; targets: { expr: string }[] }[] };
  return [
    ...rule.spec.groups.flatMap((g) => g.rules.map((r) => ({ where: `alert ${r.alert}`, expr: r.expr }))),
    ...dash.panels.flatMap((p) => p.targets.map((t) => ({ where: `panel "${p.title}"`, expr: t.expr }))),
  ];
}

describe('monitoring manifests use only exported metrics and labels', function () {
  this.timeout(30_000);
  let server: Embedded | undefined;
  let speaker: SpeakerProcess | undefined;

  after(async () => {
    await speaker?.stop();
    await server?.close();
  });

  it('the PromQL reader finds metrics and labels (it can fail)', () => {
    const u = promqlUses('sum by (pool) (rate(a_total{x="1",y=~"b"}[5m])) / on (z) b unless c == 1 or max(up)');
    assert.deepEqual([...u.metrics].sort(), ['a_total', 'b', 'c', 'up']);
    assert.deepEqual([...(u.labels.get('a_total') ?? [])], ['x', 'y']);
    assert.deepEqual([...(u.labels.get('*') ?? [])].sort(), ['pool', 'z']);
  });

  it('every metric and label in the rules and the dashboard appears in real /metrics output', async () => {
    server = await startEmbedded();
    const client = server.client;
    await client.create(Resources.namespaces, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'l2lb-system' } });
    await client.create(Resources.nodes, undefined, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'me' } });
    await client.create(Resources.configMaps, 'l2lb-system', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'config', namespace: 'l2lb-system' },
      data: { config: 'address-pools:\n- name: p\n  protocol: layer2\n  addresses:\n  - 10.253.0.0/24\n' },
    });
    const net = new FakeNet();
    net.ifaces = [iface('eth0', 2, '02:00:00:00:0c:01')];
    const announcer = new Announcer({ socketFactory: net.factory, listInterfaces: net.list, garpCount: 1 });
    const port = await freePort();
    const opts = parseRunArgs(
      ['--node-name', 'me', '--ml-bind-addr', '127.0.0.1', '--ml-bind-port', String(port), '--ml-labels', '', '--metrics-port', '0'],
      {},
    ) as RunOptions;
    speaker = new SpeakerProcess(opts, client, memoryLogger([]), { announcer });
    await speaker.start();
    await createService(client, 'web', '10.253.0.5', 'me');
    await waitFor(() => announcer.announced().includes('10.253.0.5'), { timeoutMs: 10_000, what: 'the announcement' });
    const speakerText = await speaker.registry.metrics();
    // The controller's metrics as its process exports them (module resolved at run time: no build dependency).
    const specifier = '@l2lb/controller/metrics';
    const ctl = (await import(specifier)) as {
      controllerMetrics(): { registry: { metrics(): Promise<string> }; setPools(s: unknown[]): void; setConfigState(loaded: boolean, stale: boolean): void };
    };
    const m = ctl.controllerMetrics();
    m.setPools([{ pool: 'p', total: { 4: 256n, 6: 0n }, inUse: { 4: 1, 6: 0 } }]);
    m.setConfigState(true, false);
    const all = exported(`${speakerText}\n${await m.registry.metrics()}`);
    const anyLabels = new Set([...all.values()].flatMap((s) => [...s]));
    const problems: string[] = [];
    const exprs = expressions();
    assert.ok(exprs.length >= 10, `${exprs.length} expressions`);
    for (const { where, expr } of exprs) {
      const u = promqlUses(expr);
      for (const name of u.metrics) if (!BUILTIN.has(name) && !all.has(name)) problems.push(`${where}: metric ${name} is not exported`);
      for (const [name, ls] of u.labels) {
        for (const l of ls) {
          if (name === '*' ? !anyLabels.has(l) && l !== 'instance' && l !== 'job' : !(all.get(name)?.has(l) ?? false))
            problems.push(`${where}: label ${l}${name === '*' ? '' : ` on ${name}`} is not exported`);
        }
      }
    }
    assert.deepEqual(problems, []);
  });
});
