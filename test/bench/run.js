#!/usr/bin/env node
// Runs benchmarks: every compiled <package>/dist/bench/<name>.bench.js, each in its own process
// so one benchmark's memory and timers do not disturb the next.
// Usage: npm run bench [-- name...]   (no names: all benchmarks)
import { readdirSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const wanted = process.argv.slice(2);
const found = [];
for (const pkg of readdirSync(root)) {
  const dir = join(root, pkg, 'dist', 'bench');
  if (!existsSync(dir)) continue;
  for (const file of readdirSync(dir)) {
    if (file.endsWith('.bench.js')) found.push({ name: file.slice(0, -'.bench.js'.length), path: join(dir, file) });
  }
}
found.sort((a, b) => a.name.localeCompare(b.name));
const selected = wanted.length === 0 ? found : found.filter((b) => wanted.includes(b.name));
const missing = wanted.filter((w) => !found.some((b) => b.name === w));
if (missing.length > 0) {
  console.error(`unknown benchmark(s): ${missing.join(', ')}; available: ${found.map((b) => b.name).join(', ') || 'none (run npm run build first)'}`);
  process.exit(2);
}
let failed = 0;
for (const bench of selected) {
  console.log(`\n=== bench ${bench.name} ===`);
  const result = spawnSync(process.execPath, ['--expose-gc', bench.path], { stdio: 'inherit' });
  if (result.status !== 0) failed += 1;
}
process.exit(failed === 0 ? 0 : 1);
