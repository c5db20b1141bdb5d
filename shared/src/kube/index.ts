// The whole kube layer in one import: `import { KubeClient, Informer, ... } from '@l2lb/shared/kube/index'`.
export * from './client.js';
export * from './config.js';
export * from './discovery.js';
export * from './events.js';
export * from './free-port.js';
export * from './informer.js';
export * from './informers.js';
export * from './light-config.js';
export * from './log.js';
export * from './metrics.js';
export * from './types.js';
export * from './writers.js';
