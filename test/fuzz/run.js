#!/usr/bin/env node
// Runs the fuzz targets (test/fuzz/targets, compiled to test/dist/fuzz), each in its own process with a heap
// cap (bounded memory: a leak fails the run), one after the other (2-core CI machines), and prints a summary.
// Usage: npm run fuzz [-- TARGET...] [--count N] [--seed S] [--max-seconds T]    (not part of npm test)
// Replay one input: node test/dist/fuzz/main.js TARGET --seed S --replay I
import { existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const main = join(root, 'test', 'dist', 'fuzz', 'main.js');
if (!existsSync(main)) {
  console.error(`${main} missing: run npm run build first`);
  process.exit(2);
}
const HEAP_MIB = 512;
const argv = process.argv.slice(2);
const names = [];
const pass = [];
for (let i = 0; i < argv.length; i++) {
  if (argv[i].startsWith('--')) pass.push(argv[i], argv[++i]);
  else names.push(argv[i]);
}
const list = spawnSync(process.execPath, [main, '--list'], { encoding: 'utf8' });
const all = list.stdout
  .trim()
  .split('\n')
  .map((l) => l.split('\t')[0]);
const unknown = names.filter((n) => !all.includes(n));
if (unknown.length > 0) {
  console.error(`unknown fuzz target(s): ${unknown.join(', ')}; available: ${all.join(', ')}`);
  process.exit(2);
}
const selected = names.length > 0 ? names : all;
const rows = [];
let failed = 0;
for (const name of selected) {
  console.log(`\n=== fuzz ${name} ${pass.join(' ')} (heap cap ${HEAP_MIB} MiB) ===`);
  const r = spawnSync(process.execPath, [`--max-old-space-size=${HEAP_MIB}`, '--stack-size=984', main, name, ...pass], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 64 * 1024 * 1024,
  });
  process.stdout.write(r.stdout ?? '');
  const line = (r.stdout ?? '').split('\n').find((l) => l.startsWith('RESULT '));
  if (r.status !== 0) failed++;
  rows.push(line ? JSON.parse(line.slice(7)) : { target: name, error: `exited ${r.status ?? r.signal}` });
}
console.log('\n=== fuzz summary ===');
console.log('target                         inputs       s  inputs/s  max ms  raw max  p99.9 ms  RSS MiB  crashes  hangs');
for (const x of rows) {
  if (x.error) {
    console.log(`${x.target.padEnd(28)} ${x.error}`);
    continue;
  }
  console.log(
    `${x.target.padEnd(28)} ${String(x.inputs).padStart(8)} ${String(x.seconds).padStart(6)} ${String(x.inputsPerSecond).padStart(9)} ${String(x.maxInputMs).padStart(7)} ${String(x.maxRawInputMs).padStart(8)} ${String(x.p999InputMs).padStart(9)} ${String(x.rssPeakMiB).padStart(8)} ${String(x.crashes).padStart(8)} ${String(x.hangs).padStart(6)}${x.stoppedByTime ? '  (stopped by --max-seconds)' : ''}`,
  );
}
process.exit(failed === 0 ? 0 : 1);
