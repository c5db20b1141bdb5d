// `l2lb lab demo`: the whole story on one machine, printed as the steps and commands an operator
// would type. Exit 0 when every step did what it says.
import { stringify } from 'yaml';
import { errorText } from '@l2lb/shared/log';
import { apply, down, killNode, kubectl, labStatus, LabError, phasesOnNode, restartSpeakers, reviveNode, speakerHasRun, up, type Say } from './lab.js';
import { measureFailover, waitSettled, waitSingleOwner, type FailoverResult } from './failover.js';
import { LAB_NAMESPACE, type LabPlan, type MlProfile } from './plan.js';
import { endpointSlice, ingressIp, INVALID_CONFIG, lbService, poolConfigMap } from './scenario.js';
import { formatStatus } from './status.js';
import { waitFor } from './sys.js';

export interface DemoOptions {
  prefix: string;
  stateDir?: string;
  nodes: number;
  keep: boolean;
  /** Also measure the same failure with MetalLB's memberlist timings (default true). */
  compare?: boolean;
  mlProfile: MlProfile;
  timeoutMs: number;
}

function yamlDocs(objects: Record<string, unknown>[]): string {
  return objects.map((o) => stringify(o).trimEnd()).join('\n---\n');
}

function indent(text: string, by = '    '): string {
  return text
    .trimEnd()
    .split('\n')
    .map((l) => `${by}${l}`)
    .join('\n');
}

interface EventLike {
  reason?: string;
  message?: string;
  involvedObject?: { name?: string; kind?: string };
}

export async function demo(opts: DemoOptions, out: Say): Promise<number> {
  const pfx = opts.prefix === 'l2lab' ? '' : ` --prefix ${opts.prefix}`;
  let step = 0;
  const heading = (title: string): void => out(`\n== ${++step}. ${title}`);
  const cmd = (c: string): void => out(`$ ${c}`);
  let plan: LabPlan | undefined;
  let ok = false;
  const started = Date.now();
  try {
    heading(`Build the lab: a switch, a control plane, ${opts.nodes} nodes and a client, each a network namespace`);
    cmd(`l2lb lab up${pfx} --nodes ${opts.nodes}${opts.mlProfile !== 'fast' ? ` --ml-profile ${opts.mlProfile}` : ''}`);
    plan = await up({
      prefix: opts.prefix,
      ...(opts.stateDir ? { stateDir: opts.stateDir } : {}),
      nodes: opts.nodes,
      mlProfile: opts.mlProfile,
      timeoutMs: opts.timeoutMs,
      say: (l) => out(`  ${l}`),
    });
    const p = plan;
    out(`  ready in ${((Date.now() - started) / 1000).toFixed(1)} s; logs in ${p.stateDir}/logs/`);

    heading('Give l2lb an address pool (the MetalLB <= 0.12 ConfigMap format works unchanged)');
    const pool = poolConfigMap(p);
    out(indent(yamlDocs([pool])));
    cmd(`l2lb lab kubectl${pfx} apply -f pool.yaml`);
    out(indent(apply(p, [pool])));

    heading('A LoadBalancer Service, with an EndpointSlice that has a ready endpoint on every node');
    const svc = lbService('web');
    const eps = endpointSlice(p, 'web');
    out(indent(yamlDocs([svc, eps])));
    cmd(`l2lb lab kubectl${pfx} apply -f web.yaml`);
    out(indent(apply(p, [svc, eps])));

    heading('The controller assigns an address from the pool');
    cmd(`l2lb lab kubectl${pfx} get svc web`);
    const vip = await waitFor(() => ingressIp(kubectl(p, ['get', 'svc', 'web', '-o', 'json'], { allowFail: true })), { timeoutMs: 10_000, intervalMs: 200 });
    if (!vip) throw new LabError('the controller did not assign an IP to default/web within 10 s; see the controller log');
    out(indent(kubectl(p, ['get', 'svc', 'web'])));

    if (!speakerHasRun()) throw new LabError('this build of l2lb-speaker has no `run` command, so no node announces anything (run `npm run build`)');
    heading(`Exactly one node answers ARP for ${vip}`);
    cmd(`ip netns exec ${p.client.ns} arping -i eth0 -c 2 ${vip}`);
    const owner = await waitSingleOwner(p, vip, 15_000);
    if (!owner?.node) throw new LabError(`no single node answers ARP for ${vip} within 15 s (is a speaker announcing it? see ${p.stateDir}/logs/n*.log)`);
    out(`  ${owner.node.name} answers with its MAC ${owner.mac}; no other MAC answers`);

    heading(`Pull the plug on ${owner.node.name} and watch the client's ARP entry for ${vip}`);
    cmd(`l2lb lab kill${pfx} ${owner.node.name}        # SIGKILL its speaker, link down`);
    cmd(`ip -n ${p.client.ns} -ts monitor neigh     # the client's view`);
    const fo = await measureFailover(p, vip, async (n) => (await killNode(p, n.name)).killedAtMs, 15_000);
    if (fo.ms === undefined) throw new LabError(`the client still points at ${fo.from.name} 15 s after the kill: no failover`);
    out(`  the client's entry for ${vip} moved from ${fo.from.name} (${fo.from.mac}) to ${fo.to?.name ?? '?'} (${fo.toMac}) ${fo.ms} ms after the kill`);
    if (fo.to) {
      const ph = await phasesOnNode(p, fo.to.name, fo.from.name, 'default/web', fo.killedAtMs);
      out(
        `  on ${fo.to.name}: memberlist declared ${fo.from.name} dead at +${ph.detectedMs ?? '?'} ms, announcing (gratuitous ARP) at +${ph.announcedMs ?? '?'} ms; client updated at +${fo.ms} ms`,
      );
    }

    heading(`Bring ${owner.node.name} back`);
    cmd(`l2lb lab revive${pfx} ${owner.node.name}`);
    await reviveNode(p, owner.node.name, opts.mlProfile);
    if (!(await waitSettled(p, 'default/web', vip, 20_000)))
      throw new LabError(`after ${owner.node.name} came back, the speakers did not settle on one owner for ${vip} within 20 s`);
    out(`  ${owner.node.name}'s speaker is ready again (informers synced, memberlist joined); one node answers for ${vip}`);

    let reference: FailoverResult | undefined;
    if (opts.compare !== false && opts.mlProfile === 'fast') {
      heading("The same failure with MetalLB's failure detection (hashicorp/memberlist LAN timings: probe 1 s, suspicion >= 4 s)");
      out('  restarting the speakers with --ml-profile lan ...');
      await restartSpeakers(p, 'lan');
      if (!(await waitSettled(p, 'default/web', vip, 30_000)))
        throw new LabError('the speakers did not settle on one owner after restarting with --ml-profile lan');
      reference = await measureFailover(
        p,
        vip,
        async (n) => {
          cmd(`l2lb lab kill${pfx} ${n.name}`);
          return (await killNode(p, n.name)).killedAtMs;
        },
        30_000,
      );
      if (reference.ms === undefined) {
        out(`  no failover within 30 s with MetalLB's timings`);
      } else {
        out(`  the client's entry moved from ${reference.from.name} to ${reference.to?.name ?? '?'} ${reference.ms} ms after the kill;`);
        if (reference.to) {
          const ph = await phasesOnNode(p, reference.to.name, reference.from.name, 'default/web', reference.killedAtMs);
          out(`  (memberlist declared ${reference.from.name} dead at +${ph.detectedMs ?? '?'} ms, announcing at +${ph.announcedMs ?? '?'} ms)`);
        }
        out(`  with l2lb's default timings it took ${fo.ms} ms: ${(reference.ms / Math.max(1, fo.ms)).toFixed(0)}x faster`);
      }
      await reviveNode(p, reference.from.name, 'lan');
      out("  back to l2lb's default timings ...");
      await restartSpeakers(p, 'fast');
      if (!(await waitSettled(p, 'default/web', vip, 30_000)))
        throw new LabError('the speakers did not settle on one owner after restarting with --ml-profile fast');
    }

    heading('A broken pool configuration is refused; the address keeps working');
    const bad = poolConfigMap(p, INVALID_CONFIG);
    out(indent(yamlDocs([bad])));
    cmd(`l2lb lab kubectl${pfx} apply -f bad-pool.yaml`);
    out(indent(apply(p, [bad])));
    cmd(`l2lb lab kubectl${pfx} -n ${LAB_NAMESPACE} get events --field-selector reason=InvalidConfiguration`);
    const ev = await waitFor(
      () => {
        const list = kubectl(p, ['-n', LAB_NAMESPACE, 'get', 'events', '-o', 'json'], { allowFail: true });
        try {
          const items = (JSON.parse(list) as { items?: EventLike[] }).items ?? [];
          return items.find((e) => e.reason === 'InvalidConfiguration');
        } catch {
          return undefined;
        }
      },
      { timeoutMs: 10_000, intervalMs: 250 },
    );
    if (!ev) throw new LabError('the controller did not report the invalid configuration (no InvalidConfiguration Event within 10 s)');
    out(`  Warning InvalidConfiguration on ${ev.involvedObject?.kind ?? 'ConfigMap'}/${ev.involvedObject?.name ?? 'config'}:`);
    out(indent(ev.message ?? '', '    '));
    const still = ingressIp(kubectl(p, ['get', 'svc', 'web', '-o', 'json'], { allowFail: true }));
    const answer = await waitSingleOwner(p, vip, 5000);
    if (still !== vip || !answer)
      throw new LabError(`after the bad config, web has ${still ?? 'no IP'} and ${answer ? '' : 'no '}single ARP answer for ${vip}`);
    out(`  web keeps ${vip}, and ${answer.node?.name ?? answer.mac} still answers for it: the last good configuration stays in force`);

    heading('Where things stand');
    cmd(`l2lb lab status${pfx}`);
    out(indent(formatStatus(await labStatus(p))));

    heading('Put the good configuration back');
    cmd(`l2lb lab kubectl${pfx} apply -f pool.yaml`);
    out(indent(apply(p, [pool])));
    const valid = await waitFor(async () => (await labStatus(p)).controlPlane.config === 'valid', { timeoutMs: 10_000, intervalMs: 250 });
    if (!valid) throw new LabError('the controller did not take the valid configuration back within 10 s');
    out('  the controller reports the configuration valid again (l2lb_controller_config_stale 0, Event ConfigurationLoaded)');
    ok = true;
  } catch (e) {
    out(`\nDEMO FAILED: ${errorText(e)}`);
    if (!opts.keep) out(`(run \`l2lb lab demo${pfx} --keep\` to leave the lab up, with its logs in ${opts.stateDir ?? `/run/l2lb-lab/${opts.prefix}`}/logs/)`);
  } finally {
    if (plan && opts.keep) {
      out(
        `\nThe lab stays up (--keep). Look around with \`l2lb lab status${pfx}\`, \`l2lb lab kubectl${pfx} get svc -A\`; remove it with \`l2lb lab down${pfx}\`.`,
      );
    } else {
      heading('Clean up');
      cmd(`l2lb lab down${pfx}`);
      const r = await down({ prefix: opts.prefix, ...(opts.stateDir ? { stateDir: opts.stateDir } : {}) });
      out(`  stopped ${r.processes} processes, deleted ${r.namespaces.length} namespaces${r.stateRemoved ? ', removed the state directory' : ''}`);
    }
  }
  out(ok ? `\ndemo finished in ${((Date.now() - started) / 1000).toFixed(1)} s` : '');
  return ok ? 0 : 1;
}
