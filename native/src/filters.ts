// Classic BPF programs (struct sock_filter: u16 code, u8 jt, u8 jf, u32 k; little-endian host).
// Offsets are from the start of the Ethernet frame (AF_PACKET SOCK_RAW) and assume an untagged
// frame without IPv6 extension headers.

export interface BpfInsn {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

export const BPF = {
  LD_H_ABS: 0x28,
  LD_B_ABS: 0x30,
  JEQ_K: 0x15,
  RET_K: 0x06,
} as const;

export function encodeFilter(insns: readonly BpfInsn[]): Buffer {
  const b = Buffer.alloc(insns.length * 8);
  insns.forEach((i, n) => {
    b.writeUInt16LE(i.code, n * 8);
    b.writeUInt8(i.jt, n * 8 + 2);
    b.writeUInt8(i.jf, n * 8 + 3);
    b.writeUInt32LE(i.k >>> 0, n * 8 + 4);
  });
  return b;
}

const ACCEPT = 0x40000;

/** IPv6 + ICMPv6 (next header 58) + hop limit 255 + type NS (135) or NA (136). */
export const NDP_INSNS: readonly BpfInsn[] = [
  { code: BPF.LD_H_ABS, jt: 0, jf: 0, k: 12 }, // 0: ethertype
  { code: BPF.JEQ_K, jt: 0, jf: 8, k: 0x86dd }, // 1: IPv6 else drop
  { code: BPF.LD_B_ABS, jt: 0, jf: 0, k: 20 }, // 2: next header
  { code: BPF.JEQ_K, jt: 0, jf: 6, k: 58 }, // 3: ICMPv6 else drop
  { code: BPF.LD_B_ABS, jt: 0, jf: 0, k: 21 }, // 4: hop limit
  { code: BPF.JEQ_K, jt: 0, jf: 4, k: 255 }, // 5: 255 else drop
  { code: BPF.LD_B_ABS, jt: 0, jf: 0, k: 54 }, // 6: ICMPv6 type
  { code: BPF.JEQ_K, jt: 1, jf: 0, k: 135 }, // 7: NS -> accept
  { code: BPF.JEQ_K, jt: 0, jf: 1, k: 136 }, // 8: NA -> accept else drop
  { code: BPF.RET_K, jt: 0, jf: 0, k: ACCEPT }, // 9: accept
  { code: BPF.RET_K, jt: 0, jf: 0, k: 0 }, // 10: drop
];

/** ARP (any operation): used with a protocol 'all' socket; an 'arp' socket needs no filter. */
export const ARP_INSNS: readonly BpfInsn[] = [
  { code: BPF.LD_H_ABS, jt: 0, jf: 0, k: 12 },
  { code: BPF.JEQ_K, jt: 0, jf: 1, k: 0x0806 },
  { code: BPF.RET_K, jt: 0, jf: 0, k: ACCEPT },
  { code: BPF.RET_K, jt: 0, jf: 0, k: 0 },
];

export const FILTER_NDP: Buffer = encodeFilter(NDP_INSNS);
export const FILTER_ARP: Buffer = encodeFilter(ARP_INSNS);

/**
 * A tiny interpreter for the instruction subset above (absolute loads, jeq, ret), so filters can
 * be unit-tested against real frames without a socket. Returns the accepted length (0 = drop).
 */
export function runFilter(insns: readonly BpfInsn[], frame: Uint8Array): number {
  let a = 0;
  let pc = 0;
  for (let steps = 0; steps < 4096 && pc < insns.length; steps++) {
    const i = insns[pc];
    if (!i) return 0;
    switch (i.code) {
      case BPF.LD_H_ABS:
        if (i.k + 2 > frame.length) return 0;
        a = ((frame[i.k] ?? 0) << 8) | (frame[i.k + 1] ?? 0);
        pc++;
        break;
      case BPF.LD_B_ABS:
        if (i.k + 1 > frame.length) return 0;
        a = frame[i.k] ?? 0;
        pc++;
        break;
      case BPF.JEQ_K:
        pc += 1 + (a === i.k ? i.jt : i.jf);
        break;
      case BPF.RET_K:
        return Math.min(i.k, frame.length);
      default:
        throw new Error(`runFilter: unsupported opcode 0x${i.code.toString(16)}`);
    }
  }
  return 0;
}
