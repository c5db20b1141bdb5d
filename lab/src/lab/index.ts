// `l2lb lab ...`: dispatch of the lab subcommands.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { LAB_USAGE, parseLabArgs } from './args.js';
import { demo } from './demo.js';
import { down, killNode, LabError, labStatus, loadLab, requireRoot, reviveNode, up } from './lab.js';
import { killWithPicture } from './kill-svg.js';
import { formatStatus } from './status.js';
import { runK8sLab } from './k8s-cli.js';
import { CommandError } from './sys.js';

export interface Io {
  out: NodeJS.WritableStream;
  err: NodeJS.WritableStream;
}

export async function runLab(argv: string[], io: Io = { out: process.stdout, err: process.stderr }): Promise<number> {
  const parsed = parseLabArgs(argv, process.env);
  if (!parsed.ok) {
    io.err.write(`l2lb lab: ${parsed.error}\n\n${LAB_USAGE}\n`);
    return 2;
  }
  const c = parsed.command;
  const say = (line: string): void => {
    io.out.write(`${line}\n`);
  };
  try {
    // A lab made by `up --kubernetes` (and `up --kubernetes` itself) is handled by the real-cluster mode.
    const k8s = await runK8sLab(c, say, io);
    if (k8s !== undefined) return k8s;
    switch (c.cmd) {
      case 'help':
        io.out.write(`${LAB_USAGE}\n`);
        return 0;
      case 'up': {
        const started = Date.now();
        const plan = await up({ ...c, say });
        say(`lab ${plan.prefix} is up in ${((Date.now() - started) / 1000).toFixed(1)} s (state ${plan.stateDir})`);
        const p = plan.prefix === 'l2lab' ? '' : ` --prefix ${plan.prefix}`;
        say(`next: l2lb lab kubectl${p} get nodes; l2lb lab status${p}; l2lb lab down${p}`);
        return 0;
      }
      case 'demo':
        requireRoot('demo');
        return await demo(c, say);
      case 'down': {
        const r = await down(c);
        say(
          `lab ${c.prefix}: stopped ${r.processes} processes, deleted ${r.namespaces.length} namespaces${r.namespaces.length ? ` (${r.namespaces.join(', ')})` : ''}${r.stateRemoved ? ', removed the state directory' : ''}`,
        );
        return 0;
      }
      case 'kill': {
        requireRoot('kill');
        const { plan } = loadLab(c.prefix, c.stateDir);
        if (c.svg !== undefined) return await killWithPicture(plan, c.node, c.svg, say);
        const r = await killNode(plan, c.node);
        say(
          `killed ${r.node.name} at ${new Date(r.killedAtMs).toISOString()} killedAtMs=${r.killedAtMs}: speaker ${r.pid !== undefined ? `pid ${r.pid} SIGKILLed` : 'was not running'}, link ${r.node.swPort} down`,
        );
        return 0;
      }
      case 'revive': {
        requireRoot('revive');
        const { plan, file } = loadLab(c.prefix, c.stateDir);
        const r = await reviveNode(plan, c.node, file.mlProfile);
        say(
          `revived ${r.node.name}: link ${r.node.swPort} up, speaker ${r.pid !== undefined ? `pid ${r.pid} healthy` : 'not started (no `run` in this speaker build)'}`,
        );
        return 0;
      }
      case 'status': {
        requireRoot('status');
        const { plan } = loadLab(c.prefix, c.stateDir);
        const s = await labStatus(plan);
        io.out.write(c.json ? `${JSON.stringify(s, null, 2)}\n` : formatStatus(s));
        return 0;
      }
      case 'kubectl': {
        requireRoot('kubectl');
        const { plan } = loadLab(c.prefix, c.stateDir);
        const r = spawnSync('ip', ['netns', 'exec', plan.cp.ns, 'kubectl', '--kubeconfig', join(plan.stateDir, 'kubeconfig'), ...c.args], { stdio: 'inherit' });
        return r.status ?? 1;
      }
    }
  } catch (e) {
    if (e instanceof LabError || e instanceof CommandError) {
      io.err.write(`l2lb lab ${c.cmd}: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}

export async function run(args: string[]): Promise<number> {
  return runLab(args);
}
