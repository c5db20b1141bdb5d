// The types of the memberlist's public API: the injected environment (clock, timers, random source,
// transport) and the member events.
import type { StreamMsg, StreamParse } from './wire.js';

export interface Timer {
  cancel(): void;
}

export interface StreamResult {
  msg?: StreamMsg;
  error?: string;
}

export interface Env {
  now(): number;
  setTimer(ms: number, fn: () => void): Timer;
  /** Uniform in [0, 1). */
  random(): number;
  sendPacket(ip: string, port: number, data: Uint8Array): void;
  /**
   * Dial ip:port, write data, and (when parseReply is given) read one reply message; the edge calls
   * parseReply on the bytes received so far until it is complete. done() is called exactly once.
   */
  sendStream(
    ip: string,
    port: number,
    data: Uint8Array,
    timeoutMs: number,
    parseReply: ((buf: Uint8Array) => StreamParse) | null,
    done: (r: StreamResult) => void,
  ): void;
}

export type NodeStateName = 'alive' | 'suspect' | 'dead' | 'left';

export interface MemberInfo {
  name: string;
  addr: string;
  port: number;
  meta: Uint8Array | null;
  state: NodeStateName;
  incarnation: number;
}

export interface MemberlistEvents {
  join?(n: MemberInfo): void;
  leave?(n: MemberInfo, reason: 'dead' | 'left'): void;
  update?(n: MemberInfo): void;
  suspect?(n: MemberInfo): void;
  /** A user message (UDP or TCP). */
  message?(data: Uint8Array): void;
  /** A dropped input, for logging (already counted in drops); source is the sender's IP when known. */
  drop?(reason: string, message: string, source: string): void;
}
