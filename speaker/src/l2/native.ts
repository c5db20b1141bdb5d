// Binds the announcer's injected I/O to @l2lb/native (real AF_PACKET sockets).
import { FILTER_NDP, PacketSocket, listInterfaces, watchLinks } from '@l2lb/native';
import type { L2Socket, SocketFactory } from './port.js';
import type { InterfaceInfo } from './interfaces.js';

/** ARP sockets bind ETH_P_ARP (no filter needed); NDP sockets bind ETH_P_IPV6 with an NS/NA filter. */
export function nativeSocketFactory(opts: { rcvBuf?: number } = {}): SocketFactory {
  return (ifname, kind): L2Socket =>
    kind === 'arp'
      ? PacketSocket.open({ ifname, protocol: 'arp', rcvBuf: opts.rcvBuf ?? 4 << 20 })
      : PacketSocket.open({ ifname, protocol: 'ipv6', filter: FILTER_NDP, rcvBuf: opts.rcvBuf ?? 1 << 20 });
}

export function nativeListInterfaces(): InterfaceInfo[] {
  return listInterfaces();
}

export function nativeWatchLinks(onChange: () => void): { close(): void } {
  return watchLinks(onChange);
}
