// Names and addresses of the busy-speaker cluster, shared by the API server helper (which creates
// them) and the measurement (which predicts what speaker n1 must announce). Pure.
import { electionOrder } from '../../src/election/election.js';

export const BUSY_NAMESPACES: readonly string[] = Array.from({ length: 20 }, (_, k) => `busy-${k}`);

/** Room for 32 768 Services. */
export function busyPoolCidr(): string {
  return '10.100.0.0/17';
}

export function busyServiceName(i: number): { namespace: string; name: string } {
  return { namespace: BUSY_NAMESPACES[i % BUSY_NAMESPACES.length] as string, name: `svc-${i}` };
}

export function busyServiceIp(i: number): string {
  return `10.100.${(i >> 8) & 127}.${i & 255}`;
}

/** Indexes of the Services the speaker `node` wins among the memberlist members `members`. */
export function busyWonBy(node: string, members: readonly string[], services: number): number[] {
  const won: number[] = [];
  for (let i = 0; i < services; i++) if (electionOrder(members, busyServiceIp(i))[0] === node) won.push(i);
  return won;
}
