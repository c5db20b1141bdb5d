// The lab verbs for a real-Kubernetes lab: `up --kubernetes`, and `status`, `kubectl`, `kill`, `revive`,
// `down` on a lab whose lab.json says it is one. Returns undefined for everything else (the process lab).
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { LabCommand } from './args.js';
import { formatTimeline, gapsText } from './failover-timeline.js';
import { k8sFailover } from './k8s-failover.js';
import { isK8sLab, k8sDown, k8sReviveNode, requireK8sTools, serviceIp } from './k8s.js';
import { k8sUp } from './k8s.js';
import { formatK8sStatus, k8sStatus } from './k8s-status.js';
import { loadLab, requireRoot, type Say } from './lab.js';
import { defaultStateDir, findNode } from './plan.js';

/** Seconds the cluster may take to come up once binaries and images exist (the default --timeout is the process lab's). */
const K8S_DEFAULT_TIMEOUT_MS = 600_000;

export async function runK8sLab(c: LabCommand, say: Say, io: { out: NodeJS.WritableStream }): Promise<number | undefined> {
  if (c.cmd === 'help' || c.cmd === 'demo') return undefined;
  if (c.cmd === 'up') {
    if (!c.kubernetes) return undefined;
    requireRoot('up');
    requireK8sTools();
    const started = Date.now();
    const { plan, timings } = await k8sUp({ ...c, timeoutMs: c.timeoutMs === 60_000 ? K8S_DEFAULT_TIMEOUT_MS : c.timeoutMs, workloads: true, say });
    say(
      `kubernetes lab ${plan.prefix} is up in ${((Date.now() - started) / 1000).toFixed(1)} s (${Object.entries(timings)
        .map(([k, v]) => `${k} ${(v / 1000).toFixed(1)} s`)
        .join(', ')})`,
    );
    const p = plan.prefix === 'l2lab' ? '' : ` --prefix ${plan.prefix}`;
    say(`next: l2lb lab status${p}; l2lb lab kubectl${p} get pods -A; l2lb lab kill${p} <owner>; l2lb lab down${p}`);
    return 0;
  }
  const stateDir = c.stateDir ?? defaultStateDir(c.prefix);
  if (!isK8sLab(stateDir)) return undefined;
  requireRoot(c.cmd);
  const { plan } = loadLab(c.prefix, c.stateDir);
  switch (c.cmd) {
    case 'down': {
      const r = await k8sDown(c.prefix, stateDir);
      say(`kubernetes lab ${c.prefix}: stopped ${r.processes} processes, deleted ${r.namespaces.length} namespaces, removed node data, mounts and cgroups`);
      return 0;
    }
    case 'status': {
      const s = await k8sStatus(plan);
      io.out.write(c.json ? `${JSON.stringify(s, null, 2)}\n` : formatK8sStatus(s));
      return 0;
    }
    case 'kubectl': {
      const r = spawnSync('ip', ['netns', 'exec', plan.cp.ns, 'kubectl', '--kubeconfig', join(plan.stateDir, 'kubeconfig'), ...c.args], { stdio: 'inherit' });
      return r.status ?? 1;
    }
    case 'kill': {
      const node = findNode(plan, c.node);
      const vip = serviceIp(plan, 'default', 'web');
      if (!node) {
        io.out.write(`no node ${c.node} (nodes: ${plan.nodes.map((n) => n.name).join(', ')})\n`);
        return 1;
      }
      if (!vip) {
        const { k8sKillNode } = await import('./k8s.js');
        const r = await k8sKillNode(plan, node.name);
        say(
          `killed ${node.name} at ${new Date(r.killedAtMs).toISOString()} killedAtMs=${r.killedAtMs}: ${r.processes} processes SIGKILLed, link down (no web Service to measure)`,
        );
        return 0;
      }
      const f = await k8sFailover(plan, vip, 60_000, node);
      say(
        `killed ${f.from} at ${new Date(f.killedAtMs).toISOString()} killedAtMs=${f.killedAtMs}: kubelet, containerd, kube-proxy and every container SIGKILLed, link down`,
      );
      say(
        `failover of ${vip}: ARP entry moved to ${f.to ?? '?'} after ${f.arpMoveMs ?? 'never'} ms; first good curl after ${f.firstCurlMs ?? 'never'} ms (${f.failedCurls} failed before)`,
      );
      say(`steps: ${gapsText(f.gaps)}; timeline (ms after the kill):\n${formatTimeline(f.timeline, f.killedAtMs)}`);
      return f.arpMoveMs !== undefined && f.firstCurlMs !== undefined ? 0 : 1;
    }
    case 'revive': {
      const started = Date.now();
      await k8sReviveNode(plan, c.node);
      say(
        `revived ${c.node}: link up, containerd, kubelet and kube-proxy started, Node Ready and its speaker Ready in ${((Date.now() - started) / 1000).toFixed(1)} s`,
      );
      return 0;
    }
  }
  return undefined;
}
