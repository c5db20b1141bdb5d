// Frames captured with tcpdump from Linux 6.18 in a test namespace pair:
// client c0 02:00:00:00:00:c1 10.77.0.1 fd77::1 (fe80::ff:fe00:c1), node n0 02:00:00:00:00:a1 10.77.0.2 fd77::2.
export const CAPTURED = {
  /** Router solicitation from the node (not NDP NS/NA). */
  routerSolicit:
    '3333000000020200000000a186dd6000000000103afffe80000000000000000000fffe0000a1ff020000000000000000000000000002850079ec0000000001010200000000a1',
  /** arping request 10.77.0.1 -> who has 10.77.0.2 (padded to 60 bytes by arping). */
  arpRequest:
    'ffffffffffff0200000000c1080600010800060400010200000000c10a4d00010000000000000a4d000200000000000000000000000000000000',
  /** The node kernel's ARP reply to it. */
  arpReply: '0200000000c10200000000a1080600010800060400020200000000a10a4d00020200000000c10a4d0001',
  /** ndisc6 NS for fd77::2 from the client's link-local address. */
  neighborSolicit:
    '3333ff0000020200000000c186dd600553a300203afffe80000000000000000000fffe0000c1ff0200000000000000000001ff00000287007b2000000000fd77000000000000000000000000000201010200000000c1',
  /** The node kernel's solicited NA (S=1, O=1, source = target, TLLA). */
  neighborAdvert:
    '0200000000c10200000000a186dd6000000000203afffd770000000000000000000000000002fe80000000000000000000fffe0000c1880019cd60000000fd77000000000000000000000000000202010200000000a1',
  /** arping -U: gratuitous request (sip = tip, tha = ff:ff:ff:ff:ff:ff), padded. */
  garpRequest:
    'ffffffffffff0200000000c1080600010800060400010200000000c10a4d0001ffffffffffff0a4d000100000000000000000000000000000000',
  /** The client kernel's own 42-byte ARP request. */
  kernelArpRequest: 'ffffffffffff0200000000c1080600010800060400010200000000c10a4d00010000000000000a4d0002',
} as const;

export function hex(s: string): Buffer {
  return Buffer.from(s, 'hex');
}
