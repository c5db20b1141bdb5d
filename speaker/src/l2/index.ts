export * from './result.js';
export * from './addr.js';
export * from './ethernet.js';
export * from './arp.js';
export * from './ipv6.js';
export * from './ndp.js';
export * from './frame.js';
