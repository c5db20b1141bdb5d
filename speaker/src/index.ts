export * as l2 from './l2/index.js';
