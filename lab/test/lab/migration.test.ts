// Migrating from MetalLB, end to end in the process lab: MetalLB's configuration applied as is (a CIDR with
// host bits, which MetalLB reads as its network), Services holding the IPs MetalLB gave them (with MetalLB's
// annotations, old and new prefix, a shared IP), then the l2lb controller started. A watch on the Services
// (kubectl get -w, every event) proves that no Service changed or lost its IP at any moment.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { BIN, kubectl, loadLab, readPid } from '../../src/lab/lab.js';
import { controllerArgs, LAB_NAMESPACE, type LabPlan } from '../../src/lab/plan.js';
import { alive, have, isRoot, signal } from '../../src/lab/sys.js';
import { waitFor } from './wait.js';

function l2lb(args: string[], timeoutMs = 60_000): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN.l2lb, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      out += d;
    });
    child.stderr?.setEncoding('utf8').on('data', (d: string) => {
      out += d;
    });
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, out });
    });
  });
}

/** MetalLB's layer-2 configuration as a MetalLB user has it (copied to the l2lb namespace, nothing else changed). */
const METALLB_CONFIG = [
  {
    apiVersion: 'metallb.io/v1beta1',
    kind: 'IPAddressPool',
    metadata: { name: 'lab', namespace: LAB_NAMESPACE },
    spec: { addresses: ['10.213.0.201/29', '10.213.0.210-10.213.0.249'] },
  },
  { apiVersion: 'metallb.io/v1beta1', kind: 'L2Advertisement', metadata: { name: 'lab', namespace: LAB_NAMESPACE }, spec: { ipAddressPools: ['lab'] } },
];

interface Held {
  name: string;
  ip: string;
  annotations?: Record<string, string>;
  port?: number;
}
/** What MetalLB left in the Services (status and annotations). */
const HELD: Held[] = [
  { name: 'plain', ip: '10.213.0.201' },
  { name: 'requested-old-prefix', ip: '10.213.0.215', annotations: { 'metallb.universe.tf/loadBalancerIPs': '10.213.0.215' } },
  { name: 'pinned', ip: '10.213.0.203', annotations: { 'metallb.io/address-pool': 'lab' } },
  { name: 'shared-http', ip: '10.213.0.220', annotations: { 'metallb.io/allow-shared-ip': 'front' }, port: 80 },
  { name: 'shared-https', ip: '10.213.0.220', annotations: { 'metallb.io/allow-shared-ip': 'front' }, port: 443 },
];

function service(h: Held): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: h.name, namespace: 'default', annotations: { ...h.annotations, 'metallb.io/ip-allocated-from-pool': 'lab' } },
    spec: { type: 'LoadBalancer', selector: { app: h.name }, ports: [{ name: 'p', port: h.port ?? 80, protocol: 'TCP' }] },
  };
}

describe('l2lb lab: migrating from MetalLB changes no Service @integration', function () {
  this.timeout(120_000);
  const prefix = `l2lt${process.pid}m`;
  let plan: LabPlan | undefined;
  let watcher: ChildProcess | undefined;
  let controller: ChildProcess | undefined;
  /** Every watch event, as "name=ips". */
  const events: string[] = [];

  before(async function () {
    const missing = ['ip', 'kubectl', 'bash'].filter((t) => !have(t));
    const why = !isRoot() ? 'needs root' : missing.length ? `missing tools: ${missing.join(', ')}` : undefined;
    if (why) {
      if (process.env['CI'] === 'true') throw new Error(`lab migration test ${why}`);
      this.skip();
    }
  });

  after(async () => {
    watcher?.kill('SIGKILL');
    controller?.kill('SIGKILL');
    if (plan !== undefined) await l2lb(['lab', 'down', '--prefix', prefix]);
  });

  it('keeps every IP MetalLB assigned, from the first event on, when the l2lb controller takes over', async () => {
    const up = await l2lb(['lab', 'up', '--nodes', '1', '--prefix', prefix]);
    plan = loadLab(prefix).plan;
    assert.equal(up.code, 0, up.out);
    const lab = plan;
    // MetalLB's state comes first, with no l2lb controller running: stop the one `lab up` started.
    const started = readPid(lab, 'controller');
    assert.ok(started !== undefined, 'lab controller pid');
    signal(started, 'SIGTERM');
    await waitFor(() => !alive(started), { timeoutMs: 15_000, what: 'the lab controller to exit' });

    kubectl(lab, ['apply', '-f', '-'], { input: [...METALLB_CONFIG, ...HELD.map(service)].map((o) => stringify(o)).join('---\n') });
    for (const h of HELD) {
      // A PUT on /status: `patch --subresource=status` needs kubectl >= 1.24 (Debian bookworm ships 1.20).
      const svc = JSON.parse(kubectl(lab, ['get', 'svc', h.name, '-n', 'default', '-o', 'json'])) as { metadata: Record<string, unknown> };
      delete svc.metadata['resourceVersion'];
      kubectl(lab, ['replace', '--raw', `/api/v1/namespaces/default/services/${h.name}/status`, '-f', '-'], {
        input: JSON.stringify({ ...svc, status: { loadBalancer: { ingress: [{ ip: h.ip }] } } }),
      });
    }

    const kubeconfig = join(lab.stateDir, 'kubeconfig');
    watcher = spawn(
      'ip',
      [
        'netns',
        'exec',
        lab.cp.ns,
        'kubectl',
        '--kubeconfig',
        kubeconfig,
        'get',
        'svc',
        '-n',
        'default',
        '-w',
        '-o',
        'jsonpath={.metadata.name}={.status.loadBalancer.ingress[*].ip}{"\\n"}',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let buffer = '';
    watcher.stdout?.setEncoding('utf8').on('data', (d: string) => {
      buffer += d;
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      events.push(...lines.filter((l) => l.length > 0));
    });
    await waitFor(() => HELD.every((h) => events.includes(`${h.name}=${h.ip}`)), { timeoutMs: 15_000, what: 'the watch to show every held Service' });

    controller = spawn('ip', ['netns', 'exec', lab.cp.ns, process.execPath, BIN.controller, ...controllerArgs(lab)], { stdio: 'ignore' });
    // The controller has taken every Service over once each carries its condition.
    await waitFor(
      () => {
        const out = kubectl(
          lab,
          [
            'get',
            'svc',
            '-n',
            'default',
            '-o',
            'jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="l2lb.io/Allocated")].status}{"\\n"}{end}',
          ],
          { allowFail: true },
        );
        return HELD.every((h) => out.includes(`${h.name}=True`));
      },
      { timeoutMs: 30_000, intervalMs: 250, what: 'the l2lb controller to take over every Service (condition True)' },
    );
    // A new Service gets a fresh IP; its events come after all earlier ones on the same watch.
    kubectl(lab, ['apply', '-f', '-'], { input: stringify(service({ name: 'newcomer', ip: '' })) });
    const fresh = await waitFor(() => /^newcomer=(\S+)$/.exec(events.find((e) => /^newcomer=\S+$/.test(e)) ?? '')?.[1], {
      timeoutMs: 15_000,
      what: 'newcomer to get an IP',
    });

    for (const h of HELD) {
      const seen = events.filter((e) => e.startsWith(`${h.name}=`));
      assert.ok(seen.length > 0);
      assert.deepEqual([...new Set(seen)], [`${h.name}=${h.ip}`], `${h.name} showed only ${h.ip} at every event (saw ${seen.join(', ')})`);
    }
    assert.ok(!HELD.some((h) => h.ip === fresh), `${fresh} is not a held IP`);
    console.log(`      migration: ${HELD.length} Services kept their IPs over ${events.length} watch events; newcomer got ${fresh}`);
  });
});
