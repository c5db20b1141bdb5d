// A failover picture (pure: numbers in, SVG text out). One row per kill: kill at 0 → memberlist
// declares the owner dead → the new owner announces (gratuitous ARP) → the client's neighbour entry
// moves; rows grouped by profile, on a logarithmic time axis (fast ≈ 0.3 s and MetalLB's timings
// ≈ 5 s fit one picture), then the distribution of the client times per profile.

export interface FailoverKill {
  readonly from: string;
  readonly to?: string;
  readonly detectedMs?: number;
  readonly announcedMs?: number;
  /** Kill → client's entry moved; undefined: it never moved within the deadline. */
  readonly clientMs?: number;
}

export interface FailoverProfile {
  readonly label: string;
  readonly kills: readonly FailoverKill[];
}

const W = 900;
const LEFT = 230;
const RIGHT = 30;
const ROW = 22;
const MIN_MS = 10;
const MAX_MS = 20_000;
const COLORS = { detected: '#8e6fd1', announced: '#e39b2d', client: '#2f8f46', missed: '#c0392b' };

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function x(ms: number): number {
  const v = Math.min(MAX_MS, Math.max(MIN_MS, ms));
  return LEFT + ((Math.log10(v) - Math.log10(MIN_MS)) / (Math.log10(MAX_MS) - Math.log10(MIN_MS))) * (W - LEFT - RIGHT);
}

function axis(y: number, height: number): string[] {
  const out: string[] = [];
  for (const t of [10, 30, 100, 300, 1000, 3000, 10_000]) {
    out.push(`<line x1="${x(t).toFixed(1)}" y1="${y}" x2="${x(t).toFixed(1)}" y2="${y + height}" stroke="#ddd"/>`);
    out.push(
      `<text x="${x(t).toFixed(1)}" y="${y + height + 14}" font-size="11" text-anchor="middle" fill="#555">${t >= 1000 ? `${t / 1000} s` : `${t} ms`}</text>`,
    );
  }
  out.push(`<line x1="${x(1000).toFixed(1)}" y1="${y}" x2="${x(1000).toFixed(1)}" y2="${y + height}" stroke="#c0392b" stroke-dasharray="4 3"/>`);
  return out;
}

function median(v: readonly number[]): number | undefined {
  if (v.length === 0) return undefined;
  const s = [...v].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)];
}

export function failoverSvg(title: string, profiles: readonly FailoverProfile[]): string {
  const body: string[] = [];
  let y = 60;
  const rowsTop = y;
  const rowsHeight = profiles.reduce((n, p) => n + 24 + p.kills.length * ROW, 0);
  body.push(...axis(rowsTop, rowsHeight));
  for (const p of profiles) {
    body.push(`<text x="10" y="${y + 16}" font-size="13" font-weight="bold">${esc(p.label)}</text>`);
    y += 24;
    p.kills.forEach((k, i) => {
      const mid = y + ROW / 2;
      body.push(`<text x="20" y="${mid + 4}" font-size="11" fill="#333">kill ${i + 1}: ${esc(k.from)} → ${esc(k.to ?? 'nobody')}</text>`);
      if (k.clientMs === undefined) {
        body.push(`<text x="${LEFT}" y="${mid + 4}" font-size="11" fill="${COLORS.missed}">no failover within the deadline</text>`);
      } else {
        body.push(`<rect x="${LEFT}" y="${mid - 3}" width="${(x(k.clientMs) - LEFT).toFixed(1)}" height="6" fill="#cfe8d4"/>`);
        if (k.detectedMs !== undefined)
          body.push(
            `<circle cx="${x(k.detectedMs).toFixed(1)}" cy="${mid}" r="5" fill="${COLORS.detected}"><title>declared dead +${k.detectedMs} ms</title></circle>`,
          );
        if (k.announcedMs !== undefined)
          body.push(
            `<circle cx="${x(k.announcedMs).toFixed(1)}" cy="${mid}" r="4" fill="${COLORS.announced}"><title>announcing +${k.announcedMs} ms</title></circle>`,
          );
        body.push(
          `<rect x="${(x(k.clientMs) - 2).toFixed(1)}" y="${mid - 7}" width="4" height="14" fill="${COLORS.client}"><title>client moved +${k.clientMs} ms</title></rect>`,
        );
        body.push(`<text x="${(x(k.clientMs) + 6).toFixed(1)}" y="${mid + 4}" font-size="10" fill="#333">${k.clientMs} ms</text>`);
      }
      y += ROW;
    });
  }
  y += 40;
  // Distribution: every client time as a tick on the same axis, median marked.
  body.push(`<text x="10" y="${y}" font-size="13" font-weight="bold">distribution of kill → client times</text>`);
  y += 10;
  const distTop = y;
  body.push(...axis(distTop, profiles.length * 30));
  for (const p of profiles) {
    const times = p.kills.map((k) => k.clientMs).filter((v): v is number => v !== undefined);
    const med = median(times);
    body.push(`<text x="20" y="${y + 19}" font-size="11">${esc(p.label)}${med !== undefined ? ` (p50 ${med} ms, n=${times.length})` : ''}</text>`);
    for (const t of times)
      body.push(
        `<line x1="${x(t).toFixed(1)}" y1="${y + 6}" x2="${x(t).toFixed(1)}" y2="${y + 24}" stroke="${COLORS.client}" stroke-width="2" opacity="0.7"/>`,
      );
    if (med !== undefined)
      body.push(`<polygon points="${x(med).toFixed(1)},${y + 4} ${(x(med) - 5).toFixed(1)},${y - 4} ${(x(med) + 5).toFixed(1)},${y - 4}" fill="#000"/>`);
    y += 30;
  }
  y += 40;
  const legend = [
    ['declared dead (memberlist)', COLORS.detected],
    ['announcing (gratuitous ARP)', COLORS.announced],
    ['client entry moved', COLORS.client],
    ['1 s', COLORS.missed],
  ] as const;
  legend.forEach(([label, color], i) => {
    body.push(
      `<rect x="${10 + i * 210}" y="${y - 10}" width="12" height="12" fill="${color}"/><text x="${28 + i * 210}" y="${y}" font-size="11">${esc(label)}</text>`,
    );
  });
  const height = y + 20;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${height}" viewBox="0 0 ${W} ${height}" font-family="sans-serif">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="10" y="26" font-size="16" font-weight="bold">${esc(title)}</text>`,
    `<text x="10" y="44" font-size="11" fill="#555">time after the kill of the VIP's owner (SIGKILL of its speaker + link down), logarithmic</text>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}
