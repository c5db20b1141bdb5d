#!/usr/bin/env node
// Runs benchmarks: every compiled <package>/dist/bench/<name>.bench.js, each in its own process
// so one benchmark's memory and timers do not disturb the next.
// Usage: npm run bench [-- [--strict] name... [--option=value | --option value]...]   (no names: all benchmarks)
//   --strict: exit 1 when any benchmark printed a `TARGET MISSED` line, not only when one failed.
//   Any other --option is passed on to every selected benchmark as --option=value (e.g. soak --seconds 60).
import { readdirSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawn } from 'node:child_process';

const MISSED = 'TARGET MISSED';
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const args = process.argv.slice(2);
const strict = args.includes('--strict');
const wanted = [];
/** Options for the benchmarks themselves, normalised to --option=value. */
const passed = [];
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--strict') continue;
  if (!a.startsWith('-')) wanted.push(a);
  else if (!/^--[a-z][a-z0-9-]*(=.*)?$/.test(a)) {
    console.error(`bad option ${a}; usage: npm run bench -- [--strict] [name...] [--option=value...]`);
    process.exit(2);
  } else if (a.includes('=')) passed.push(a);
  else if (i + 1 < args.length && !args[i + 1].startsWith('-')) passed.push(`${a}=${args[++i]}`);
  else passed.push(`${a}=true`);
}
// Options are meant for the benchmarks named with them; with none named, an option is more likely a typo
// of --strict than a setting for every benchmark, so refuse it.
if (passed.length > 0 && wanted.length === 0) {
  console.error(`option ${passed.join(' ')} given without a benchmark name: options go to the named benchmarks (did you mean --strict?)`);
  process.exit(2);
}
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
    const child = spawn(process.execPath, ['--expose-gc', path, ...passed], { stdio: ['inherit', 'pipe', 'inherit'] });
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
