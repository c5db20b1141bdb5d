// Telling l2lb speakers from other memberlist members (MetalLB speakers) in a mixed cluster.
// l2lb speakers put a marker in their memberlist node metadata; MetalLB's speaker sets none (it
// configures no memberlist Delegate). A member without the marker runs something else (or an l2lb
// older than the marker): it elects without L2Advertisement.preferredNodeSelectors, so where an
// advertisement uses them the two may pick different nodes for one IP. Pure: no I/O.
import type { Config } from '@l2lb/shared';

/** The memberlist node metadata of an l2lb speaker (well under memberlist's 512-byte limit). */
export const L2LB_MEMBER_META = 'l2lb-speaker/1';
const MARKER = new TextEncoder().encode('l2lb-speaker/');

export interface MemberMeta {
  readonly name: string;
  readonly meta: Uint8Array | null;
}

/** Members (other than `self`) whose metadata does not carry the l2lb marker, sorted. */
export function foreignMembers(members: readonly MemberMeta[], self: string): string[] {
  const isL2lb = (meta: Uint8Array | null): boolean => meta !== null && meta.length >= MARKER.length && MARKER.every((b, i) => meta[i] === b);
  return members
    .filter((m) => m.name !== self && !isL2lb(m.meta))
    .map((m) => m.name)
    .sort();
}

/** Names of the L2Advertisements that use preferredNodeSelectors. */
export function advertisementsWithPreferences(config: Config | undefined): string[] {
  return (config?.l2Advertisements ?? []).filter((a) => a.preferredNodeSelectors.length > 0).map((a) => a.name);
}

/** The warning for a mixed cluster, or undefined when elections cannot differ. */
export function mixedClusterWarning(foreign: readonly string[], preferring: readonly string[]): string | undefined {
  if (foreign.length === 0 || preferring.length === 0) return undefined;
  return (
    `memberlist members ${foreign.join(', ')} do not run l2lb (MetalLB speakers?): they ignore preferredNodeSelectors ` +
    `(L2Advertisement ${preferring.join(', ')}) and may elect a different node for the same IP, so two nodes may answer for it; ` +
    'remove preferredNodeSelectors until every speaker runs l2lb'
  );
}
