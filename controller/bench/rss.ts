// The controller process's memory with many Services on the embedded API server.
// Starts the embedded server in this process, the real l2lb-controller as a child process.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KubeClient } from '@l2lb/shared/kube/client';
import { loadKubeConfig } from '@l2lb/shared/kube/config';
import { Resources } from '@l2lb/shared/kube/types';
import { EmbeddedApiServer, renderKubeconfig } from '@l2lb/apiserver';
import { freePort } from '@l2lb/apiserver/testing/free-port';
import { errorText } from '@l2lb/shared/log';

const bin = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'l2lb-controller.js');
const TARGET_MB = 150;

function rssOf(pid: number): { rssMB: number; peakMB: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string): number => Number(/(\d+) kB/.exec(status.split('\n').find((l) => l.startsWith(field)) ?? '')?.[1] ?? 0);
  return { rssMB: kb('VmRSS:') / 1024, peakMB: kb('VmHWM:') / 1024 };
}

async function metric(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line === undefined ? Number.NaN : Number(line.split(' ').pop());
}

async function until(what: string, timeoutMs: number, cond: () => Promise<boolean>): Promise<number> {
  const start = Date.now();
  for (;;) {
    try {
      if (await cond()) return Date.now() - start;
    } catch {
      /* not up yet */
    }
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function startController(kubeconfig: string, port: number): ReturnType<typeof spawn> {
  return spawn(
    process.execPath,
    [bin, '--kubeconfig', kubeconfig, '--namespace', 'l2lb-system', '--metrics-port', String(port), '--metrics-host', '127.0.0.1', '--log-level', 'warn'],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
}

export async function measureControllerRss(count: number): Promise<void> {
  const server = new EmbeddedApiServer({ port: 0, historyLimit: 1000 });
  const url = await server.start();
  const dir = mkdtempSync(join(tmpdir(), 'l2lb-bench-'));
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(kubeconfig, renderKubeconfig({ server: url }));
  const client = new KubeClient(loadKubeConfig({ server: url }), { timeoutMs: 30_000 });
  const port = await freePort();
  let child = startController(kubeconfig, port);
  try {
    await client.create(Resources.namespaces, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'l2lb-system' } });
    await client.create(Resources.namespaces, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'bench' } });
    await client.create(Resources.configMaps, 'l2lb-system', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'config', namespace: 'l2lb-system' },
      data: { config: 'address-pools:\n- name: bench\n  protocol: layer2\n  addresses: [10.20.0.0/16]\n' },
    });
    await until('controller ready', 20_000, async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200);
    const started = Date.now();
    for (let i = 0; i < count; i += 100) {
      await Promise.all(
        Array.from({ length: Math.min(100, count - i) }, (_, j) =>
          client.create(Resources.services, 'bench', {
            apiVersion: 'v1',
            kind: 'Service',
            metadata: { name: `svc-${i + j}`, namespace: 'bench' },
            spec: { type: 'LoadBalancer', ports: [{ port: 80, protocol: 'TCP' }] },
          }),
        ),
      );
    }
    const createdMs = Date.now() - started;
    await until(`${count} allocations`, 300_000, async () => (await metric(port, 'l2lb_allocator_addresses_in_use_total')) >= count);
    await until('writes settled', 300_000, async () => (await metric(port, 'l2lb_controller_service_writes_total')) >= count);
    const allAssignedMs = Date.now() - started;
    const live = rssOf(child.pid ?? 0);
    console.log(`controller, ${count} Services created on the embedded server: created in ${createdMs} ms, all assigned and written after ${allAssignedMs} ms`);
    const heapMB = (await metric(port, 'nodejs_heap_size_used_bytes')) / 1048576;
    const heapTotalMB = (await metric(port, 'nodejs_heap_size_total_bytes')) / 1048576;
    console.log(
      `controller RSS with ${count} Services: ${live.rssMB.toFixed(1)} MB (peak ${live.peakMB.toFixed(1)} MB; JS heap used ${heapMB.toFixed(1)} MB of ${heapTotalMB.toFixed(1)} MB)`,
    );
    if (live.rssMB > TARGET_MB) console.log(`TARGET MISSED: controller RSS ${live.rssMB.toFixed(1)} MB (target ≤ ${TARGET_MB} MB)`);
    // Restart: the new process rebuilds from status; time until every Service was reconciled.
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const restartStart = Date.now();
    child = startController(kubeconfig, port);
    await until('restart pass', 300_000, async () => (await metric(port, 'l2lb_controller_reconcile_duration_seconds_count')) >= count);
    const restartMs = Date.now() - restartStart;
    const writes = await metric(port, 'l2lb_controller_service_writes_total');
    const after = rssOf(child.pid ?? 0);
    console.log(
      `controller restart with ${count} Services: ready and all reconciled in ${restartMs} ms, ${Number.isNaN(writes) ? 0 : writes} writes, RSS ${after.rssMB.toFixed(1)} MB (peak ${after.peakMB.toFixed(1)} MB)`,
    );
  } catch (e) {
    console.log(`TARGET MISSED: controller RSS benchmark failed: ${errorText(e)}`);
  } finally {
    child.kill('SIGKILL');
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
