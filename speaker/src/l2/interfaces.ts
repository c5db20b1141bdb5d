// Which interfaces the layer-2 announcer answers on (MetalLB-compatible defaults).

/** Subset of @l2lb/native's NetInterface the selection needs (kept structural for tests). */
export interface InterfaceInfo {
  name: string;
  index: number;
  mac: string | null;
  up: boolean;
  broadcast: boolean;
  noarp: boolean;
  loopback: boolean;
  hasMaster: boolean;
  addresses: { family: 4 | 6; address: string }[];
}

/** MetalLB's default `announcedInterfacesToExclude`. */
export const DEFAULT_EXCLUDE: readonly RegExp[] = [
  /^docker/,
  /^cbr/,
  /^dummy/,
  /^virbr/,
  /^lxcbr/,
  /^veth/,
  /^lo$/,
  /^cali/,
  /^tunl/,
  /^flannel/,
  /^kube-ipvs/,
  /^cni/,
  /^nodelocaldns/,
  /^lxc/,
];

export interface Selection {
  eligible: InterfaceInfo[];
  skipped: { name: string; reason: string }[];
}

/**
 * Default: every interface that is up, broadcast-capable, not NOARP, not enslaved to a
 * bond/bridge, has a MAC, and does not match the exclude list. An explicit list takes only the
 * named interfaces, still requiring them to exist, be up and have a MAC.
 */
export function selectInterfaces(
  all: readonly InterfaceInfo[],
  opts: { explicit?: readonly string[] | undefined; exclude?: readonly RegExp[] | undefined },
): Selection {
  const eligible: InterfaceInfo[] = [];
  const skipped: { name: string; reason: string }[] = [];
  const exclude = opts.exclude ?? DEFAULT_EXCLUDE;
  const explicit = opts.explicit && opts.explicit.length > 0 ? new Set(opts.explicit) : undefined;
  for (const i of all) {
    const skip = (reason: string): void => {
      skipped.push({ name: i.name, reason });
    };
    if (explicit) {
      if (!explicit.has(i.name)) continue;
    } else if (exclude.some((re) => re.test(i.name))) {
      skip('excluded by name');
      continue;
    }
    if (!i.up) skip('down');
    else if (!i.mac || i.mac === '00:00:00:00:00:00') skip('no hardware address');
    else if (!explicit && !i.broadcast) skip('not broadcast-capable');
    else if (!explicit && i.noarp) skip('NOARP');
    else if (!explicit && i.hasMaster) skip('enslaved (has a master); announce on the master');
    else eligible.push(i);
  }
  if (explicit) {
    for (const name of explicit) {
      if (!all.some((i) => i.name === name)) skipped.push({ name, reason: 'no such interface' });
    }
  }
  return { eligible, skipped };
}
