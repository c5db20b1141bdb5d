#!/usr/bin/env node
// Runs benchmarks: every compiled <package>/dist/bench/<name>.bench.js, each in its own process
// so one benchmark's memory and timers do not disturb the next.
// Usage: npm run bench [-- [--strict] [--seconds N] name...]   (no names: all benchmarks)
//   --seconds N: passed on to the benchmarks (those with a measurement window use it, e.g. busy).
//   --strict: exit 1 when any benchmark printed a `TARGET MISSED` line, not only when one failed.
import { readdirSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn } from 'node:child_process';

const MISSED = 'TARGET MISSED';
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const args = process.argv.slice(2);
// Options passed on to every selected benchmark (each reads those it knows): --seconds N.
const FORWARDED = ['--seconds'];
const forwarded = [];
const flags = [];
const wanted = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  const name = a.split('=')[0];
  if (FORWARDED.includes(name)) {
    const value = a.includes('=') ? a.slice(name.length + 1) : args[++i];
    if (value === undefined || value === '') {
      console.error(`${name} needs a value`);
      process.exit(2);
    }
    forwarded.push(name, value);
  } else if (a.startsWith('-')) flags.push(a);
  else wanted.push(a);
}
const unknownFlags = flags.filter((f) => f !== '--strict');
if (unknownFlags.length > 0) {
  console.error(`unknown option(s): ${unknownFlags.join(', ')}; usage: npm run bench -- [--strict] [--seconds N] [name...]`);
  process.exit(2);
}
const strict = flags.includes('--strict');
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

/** Runs one benchmark, passing its output through, and returns its exit status and TARGET MISSED lines. */
function runBench(path) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--expose-gc', path, ...forwarded], { stdio: ['inherit', 'pipe', 'inherit'] });
    const missedLines = [];
    let partial = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      process.stdout.write(chunk);
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) if (line.includes(MISSED)) missedLines.push(line.trim());
    });
    child.on('close', (code, signal) => {
      if (partial.includes(MISSED)) missedLines.push(partial.trim());
      resolve({ status: code ?? (signal ? 1 : 0), missedLines });
    });
  });
}

let failed = 0;
const missedTargets = [];
for (const bench of selected) {
  console.log(`\n=== bench ${bench.name} ===`);
  const { status, missedLines } = await runBench(bench.path);
  if (status !== 0) failed += 1;
  for (const line of missedLines) missedTargets.push(`${bench.name}: ${line}`);
}
if (missedTargets.length > 0) {
  console.error(`\n${missedTargets.length} target(s) missed${strict ? ' (--strict: failing)' : ''}:\n  ${missedTargets.join('\n  ')}`);
}
process.exit(failed > 0 || (strict && missedTargets.length > 0) ? 1 : 0);
