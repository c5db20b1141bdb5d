export * from './ip.js';
export * from './config/index.js';
