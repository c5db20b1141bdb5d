export * from './allocator/allocator.js';
export { IntervalSet } from './allocator/intervals.js';
export * from './service.js';
export * from './reconciler.js';
