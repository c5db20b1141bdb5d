// `l2lb lab kill NODE --svg FILE`: kills the node while timing the failover of a VIP it answers for
// (kill → declared dead → announcing → client's entry moved) and draws it like the benchmark does.
import { writeFileSync } from 'node:fs';
import { failoverSvg } from './failover-svg.js';
import { measureFailover } from './failover.js';
import { killNode, labStatus, LabError, phasesOnNode, type Say } from './lab.js';
import type { LabPlan } from './plan.js';

export async function killWithPicture(plan: LabPlan, node: string, file: string, say: Say): Promise<number> {
  const status = await labStatus(plan);
  const svc = status.services.find((s) => s.announcedBy.includes(node) && s.ips.length > 0);
  if (!svc) throw new LabError(`${node} announces no Service: nothing to time (kill it without --svg)`);
  const vip = svc.ips[0] as string;
  const r = await measureFailover(
    plan,
    vip,
    async (n) => {
      if (n.name !== node) throw new LabError(`${vip} is answered by ${n.name}, not ${node}`);
      const k = await killNode(plan, node);
      say(`killed ${node} at ${new Date(k.killedAtMs).toISOString()} killedAtMs=${k.killedAtMs}`);
      return k.killedAtMs;
    },
    30_000,
  );
  const ph = r.to ? await phasesOnNode(plan, r.to.name, r.from.name, svc.service, r.killedAtMs) : {};
  writeFileSync(
    file,
    failoverSvg(`l2lb lab ${plan.prefix}: ${svc.service} (${vip}) after killing ${node}`, [
      {
        label: `lab ${plan.prefix}`,
        kills: [{ from: r.from.name, ...(r.to ? { to: r.to.name } : {}), ...(r.ms !== undefined ? { clientMs: r.ms } : {}), ...ph }],
      },
    ]),
  );
  say(
    `${svc.service} ${vip}: ${r.to ? `moved to ${r.to.name}, client followed ${r.ms ?? '?'} ms after the kill (declared dead +${ph.detectedMs ?? '?'} ms, announcing +${ph.announcedMs ?? '?'} ms)` : 'no failover within 30 s'}; picture: ${file}`,
  );
  return r.ms !== undefined ? 0 : 1;
}
