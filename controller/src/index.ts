export * from './allocator/allocator.js';
export { IntervalSet } from './allocator/intervals.js';
