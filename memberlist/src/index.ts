// Public API of @l2lb/memberlist.
export { FAST, LAN, makeConfig, profile } from './config.js';
export type { MemberlistConfig, ProfileName, Timings } from './config.js';
export { Keyring, keyFromHex, metallbKey } from './crypto.js';
export { Memberlist, bytesToIp, ipToBytes } from './memberlist.js';
export type { Env, MemberInfo, MemberlistEvents, NodeStateName, Timer } from './memberlist.js';
export { MemberlistNode, parseHostPort } from './node.js';
export type { NodeLogger, NodeOptions } from './node.js';
export { SimNetwork, seededRandom } from './sim.js';
export { decodePacket, encodePacket } from './packet.js';
export { defaultWireOptions, encodeStream, parseStream } from './wire.js';
export type { WireOptions } from './wire.js';
export { registerMemberlistMetrics } from './metrics.js';
export type { MemberlistMetricsSource } from './metrics.js';
