// The host side of the Kubernetes lab: the PKI and tokens of its API server, the nodes' cgroup trees,
// mounts left under a node's runtime directories, and the sysctls kubelet changes (saved, restored on down).
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { apiserverSans, tokensCsv, K8S_USERS } from './k8s-plan.js';
import type { LabPlan } from './plan.js';
import { run } from './sys.js';

const SYSCTLS = ['vm/overcommit_memory', 'kernel/panic', 'kernel/panic_on_oops'];

function openssl(args: string[]): void {
  run('openssl', args, { timeoutMs: 60_000 });
}

export function makePki(plan: LabPlan, pki: string): Record<string, string> {
  mkdirSync(pki, { recursive: true, mode: 0o700 });
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${pki}/ca.key`, '-out', `${pki}/ca.crt`, '-days', '30', '-subj', '/CN=l2lb-lab-ca']);
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${pki}/apiserver.key`, '-out', `${pki}/apiserver.csr`, '-subj', '/CN=kube-apiserver']);
  writeFileSync(`${pki}/apiserver.ext`, `subjectAltName=${apiserverSans(plan)}\n`);
  openssl([
    'x509',
    '-req',
    '-in',
    `${pki}/apiserver.csr`,
    '-CA',
    `${pki}/ca.crt`,
    '-CAkey',
    `${pki}/ca.key`,
    '-CAcreateserial',
    '-out',
    `${pki}/apiserver.crt`,
    '-days',
    '30',
    '-extfile',
    `${pki}/apiserver.ext`,
  ]);
  openssl(['genrsa', '-out', `${pki}/sa.key`, '2048']);
  openssl(['rsa', '-in', `${pki}/sa.key`, '-pubout', '-out', `${pki}/sa.pub`]);
  const tokens: Record<string, string> = {};
  for (const u of K8S_USERS) tokens[u.file] = randomBytes(24).toString('hex');
  for (const n of plan.nodes) tokens[`node-${n.name}`] = randomBytes(24).toString('hex');
  writeFileSync(`${pki}/tokens.csv`, tokensCsv(tokens, plan), { mode: 0o600 });
  return tokens;
}

function cgroupDirs(cgroup: string): string[] {
  return readdirSync('/sys/fs/cgroup')
    .filter((h) => h !== 'unified')
    .map((h) => `/sys/fs/cgroup/${h}${cgroup}`)
    .filter((d) => existsSync(d.slice(0, d.length - cgroup.length)) && !d.includes('/sys/fs/cgroup/unified'));
}

export function makeCgroup(cgroup: string): void {
  for (const h of readdirSync('/sys/fs/cgroup')) {
    const base = `/sys/fs/cgroup/${h}`;
    if (h === 'unified' || !existsSync(`${base}/cgroup.procs`)) continue;
    mkdirSync(`${base}${cgroup}`, { recursive: true });
    if (h.includes('cpuset')) {
      // A new cpuset cgroup starts empty; nothing can join it until cpus and mems are set.
      for (const f of ['cpuset.cpus', 'cpuset.mems']) {
        const all = readFileSync(`${base}/${f}`, 'utf8');
        let path = '';
        for (const part of cgroup.split('/').filter((p) => p !== '')) {
          path += `/${part}`;
          writeFileSync(`${base}${path}/${f}`, all);
        }
      }
    }
  }
}

/** Every pid in a cgroup tree (the pids hierarchy, or any v1 hierarchy that has it). */
export function cgroupPids(cgroup: string): number[] {
  const pids = new Set<number>();
  const walk = (dir: string): void => {
    let entries: string[] = [];
    try {
      entries = readdirSync(dir);
    } catch {
      return;
    }
    try {
      for (const l of readFileSync(join(dir, 'cgroup.procs'), 'utf8').split('\n')) if (/^\d+$/.test(l)) pids.add(Number(l));
    } catch {
      // gone meanwhile
    }
    for (const e of entries) {
      const p = join(dir, e);
      if (!e.includes('.') && existsSync(join(p, 'cgroup.procs'))) walk(p);
    }
  };
  for (const d of cgroupDirs(cgroup)) walk(d);
  return [...pids];
}

export function removeCgroup(cgroup: string): void {
  for (const d of cgroupDirs(cgroup)) {
    if (!existsSync(d)) continue;
    // Deepest first: a cgroup directory can only be removed once it has no children.
    run('find', [d, '-depth', '-type', 'd', '-exec', 'rmdir', '{}', '+'], { allowFail: true });
  }
}

/** Every mount point under one of these directories, deepest first. */
export function mountsUnder(dirs: string[]): string[] {
  const out: string[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const mp = line.split(' ')[4]?.replace(/\\040/g, ' ');
    if (mp && dirs.some((d) => mp === d || mp.startsWith(`${d}/`))) out.push(mp);
  }
  return [...new Set(out)].sort((a, b) => b.length - a.length);
}

export function unmountUnder(dirs: string[]): void {
  for (let round = 0; round < 3; round++) {
    const mps = mountsUnder(dirs);
    if (mps.length === 0) return;
    for (const mp of mps) run('umount', ['-l', mp], { allowFail: true });
  }
}

export function saveSysctls(plan: LabPlan): void {
  const file = join(plan.stateDir, 'sysctls.json');
  if (existsSync(file)) return;
  const values: Record<string, string> = {};
  for (const s of SYSCTLS) values[s] = readFileSync(`/proc/sys/${s}`, 'utf8').trim();
  writeFileSync(file, `${JSON.stringify(values)}\n`);
}

export function restoreSysctls(stateDir: string): void {
  try {
    const values = JSON.parse(readFileSync(join(stateDir, 'sysctls.json'), 'utf8')) as Record<string, string>;
    for (const [k, v] of Object.entries(values)) if (SYSCTLS.includes(k)) writeFileSync(`/proc/sys/${k}`, `${v}\n`);
  } catch {
    // nothing saved: no kubelet ever ran
  }
}
