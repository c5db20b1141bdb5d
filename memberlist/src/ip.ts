// IP address bytes <-> text, as Go's net.IP reads and prints them.
import { isIP } from 'node:net';

export function ipToBytes(ip: string): Uint8Array {
  const kind = isIP(ip);
  if (kind === 4) return Uint8Array.from(ip.split('.').map((x) => Number(x)));
  if (kind === 6) {
    const [head, tail] = ip.includes('::') ? ip.split('::') as [string, string] : [ip, undefined];
    const parse = (s: string | undefined): number[] => {
      if (s === undefined || s === '') return [];
      const out: number[] = [];
      for (const part of s.split(':')) {
        if (part.includes('.')) {
          const v4 = part.split('.').map(Number);
          out.push(((v4[0] ?? 0) << 8) | (v4[1] ?? 0), ((v4[2] ?? 0) << 8) | (v4[3] ?? 0));
        } else out.push(parseInt(part, 16));
      }
      return out;
    };
    const h = parse(head);
    const t = parse(tail);
    const groups = tail === undefined ? h : [...h, ...new Array(8 - h.length - t.length).fill(0), ...t];
    const b = new Uint8Array(16);
    groups.forEach((g, i) => { b[2 * i] = (g >> 8) & 0xff; b[2 * i + 1] = g & 0xff; });
    return b;
  }
  throw new Error(`not an IP address: ${ip}`);
}

export function bytesToIp(b: Uint8Array): string | null {
  if (b.length === 4) return Array.from(b).join('.');
  if (b.length === 16) {
    if (b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff) return Array.from(b.subarray(12)).join('.');
    const g: number[] = [];
    for (let i = 0; i < 16; i += 2) g.push(((b[i] as number) << 8) | (b[i + 1] as number));
    // RFC 5952: compress the longest run (>= 2) of zero groups.
    let best = -1;
    let bestLen = 0;
    for (let i = 0; i < 8;) {
      if (g[i] !== 0) { i++; continue; }
      let j = i;
      while (j < 8 && g[j] === 0) j++;
      if (j - i > bestLen && j - i >= 2) { best = i; bestLen = j - i; }
      i = j;
    }
    const hexs = g.map((x) => x.toString(16));
    if (best < 0) return hexs.join(':');
    return `${hexs.slice(0, best).join(':')}::${hexs.slice(best + bestLen).join(':')}`;
  }
  return null;
}
