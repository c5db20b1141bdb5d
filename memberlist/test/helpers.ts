// Shared test helpers: vector loading, condition waiting, Go-style field views of decoded messages.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PacketMsg, PushNodeState, PushPullHeader } from '../src/messages.js';
import { StreamMsg } from '../src/wire.js';

/** Captured and generated memberlist wire vectors, kept in the source tree (test/vectors/README.md). */
export const VECTOR_DIR = fileURLToPath(new URL('../../test/vectors/', import.meta.url));

export interface Vector {
  name: string;
  file: string;
  source: string;
  kind?: string;
  transport?: string;
  label?: string;
  encryptionVersion?: number | null;
  key?: string | null;
  nonce?: string | null;
  crc?: unknown;
  plainFile?: string;
  decompressedFile?: string;
  labelHeaderPresent?: boolean;
  decoded?: unknown;
}

export function loadVectors(): Vector[] {
  const j = JSON.parse(readFileSync(VECTOR_DIR + 'vectors.json', 'utf8')) as { vectors: Vector[] };
  return j.vectors;
}

export function hexFile(rel: string): Uint8Array {
  return new Uint8Array(Buffer.from(readFileSync(VECTOR_DIR + rel, 'utf8').trim(), 'hex'));
}

export function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

export async function waitFor(cond: () => boolean, opts: { timeoutMs: number; what?: string; stepMs?: number }): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${opts.timeoutMs} ms waiting for ${opts.what ?? 'condition'}`);
    await new Promise((r) => setTimeout(r, opts.stepMs ?? 20));
  }
}

function ipView(b: Uint8Array | null): string | null {
  if (b === null) return null;
  if (b.length === 4) return `${Array.from(b).join('.')} (4B)`;
  if (b.length === 16) {
    const mapped = b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff;
    if (mapped) return `::ffff:${Array.from(b.subarray(12)).join('.')} (16B)`;
    const groups: string[] = [];
    for (let i = 0; i < 16; i += 2) groups.push(Buffer.from(b.subarray(i, i + 2)).toString('hex'));
    return `${groups.join(':')} (16B)`;
  }
  return `${hex(b)} (${b.length}B)`;
}

function bytesView(b: Uint8Array | null): { hex: string; utf8: string } | null {
  return b === null ? null : { hex: hex(b), utf8: Buffer.from(b).toString('utf8') };
}

type Fields = Record<string, unknown>;

function withSource(f: Fields, addr: Uint8Array | null, node: string, port: number): Fields {
  if (addr !== null && addr.length > 0) f.SourceAddr = ipView(addr);
  if (node !== '') f.SourceNode = node;
  if (port !== 0) f.SourcePort = port;
  return f;
}

export function msgFields(m: PacketMsg): Fields {
  switch (m.type) {
    case 'ping':
      return withSource({ Node: m.msg.node, SeqNo: m.msg.seqNo }, m.msg.sourceAddr, m.msg.sourceNode, m.msg.sourcePort);
    case 'indirectPing': {
      const f = withSource({ Nack: m.msg.nack, Node: m.msg.node, Port: m.msg.port, SeqNo: m.msg.seqNo }, m.msg.sourceAddr, m.msg.sourceNode, m.msg.sourcePort);
      f.Target = ipView(m.msg.target);
      return f;
    }
    case 'ackResp':
      return { Payload: bytesView(m.msg.payload), SeqNo: m.msg.seqNo };
    case 'nackResp':
      return { SeqNo: m.msg.seqNo };
    case 'suspect':
    case 'dead':
      return { From: m.msg.from, Incarnation: m.msg.incarnation, Node: m.msg.node };
    case 'alive':
      return {
        Addr: ipView(m.msg.addr),
        Incarnation: m.msg.incarnation,
        Meta: bytesView(m.msg.meta),
        Node: m.msg.node,
        Port: m.msg.port,
        Vsn: m.msg.vsn === null ? null : Array.from(m.msg.vsn),
      };
    case 'err':
      return { Error: m.msg.error };
    case 'user':
      return { payload: hex(m.msg) };
  }
}

export function headerFields(h: PushPullHeader): Fields {
  return { Join: h.join, Nodes: h.nodes, UserStateLen: h.userStateLen };
}

export function nodeStateFields(n: PushNodeState): Fields {
  return {
    Addr: ipView(n.addr),
    Incarnation: n.incarnation,
    Meta: bytesView(n.meta),
    Name: n.name,
    Port: n.port,
    State: n.state,
    Vsn: n.vsn === null ? null : Array.from(n.vsn),
  };
}

export function streamFields(m: StreamMsg): Fields[] {
  switch (m.type) {
    case 'pushPull':
      return [headerFields(m.header), ...m.nodes.map(nodeStateFields)];
    case 'ping':
      return [msgFields({ type: 'ping', msg: m.msg })];
    case 'ackResp':
      return [msgFields({ type: 'ackResp', msg: m.msg })];
    case 'err':
      return [msgFields({ type: 'err', msg: m.msg })];
    case 'user':
      return [{ UserMsgLen: m.data.length }];
  }
}

/** Every object in the manifest's decoded tree marked '#goExactReencode', in document order, minus the marker. */
export function expectedFieldSets(decoded: unknown): Fields[] {
  const out: Fields[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) {
      v.forEach(walk);
      return;
    }
    if (v === null || typeof v !== 'object') return;
    const o = v as Record<string, unknown>;
    if ('#goExactReencode' in o) {
      const copy: Fields = { ...o };
      delete copy['#goExactReencode'];
      out.push(copy);
      return;
    }
    for (const k of Object.keys(o)) walk(o[k]);
  };
  walk(decoded);
  return out;
}
