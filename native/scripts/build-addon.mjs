#!/usr/bin/env node
// Builds the N-API addon with node-gyp, offline, against the running Node's own headers, and
// only when a source is newer than the built .node (so `npm run build` stays incremental).
import { existsSync, statSync, readdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { spawnSync } from 'node:child_process';

const here = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(here, 'build', 'Release', 'l2lb_native.node');
const sources = [join(here, 'binding.gyp'), ...readdirSync(join(here, 'addon')).map((f) => join(here, 'addon', f))];
const force = process.argv.includes('--force');

if (!force && existsSync(out)) {
  const built = statSync(out).mtimeMs;
  if (sources.every((s) => statSync(s).mtimeMs <= built)) {
    console.log('native: addon up to date');
    process.exit(0);
  }
}

// Node headers: an explicit npm/env nodedir wins; otherwise the prefix of this node binary if it
// ships include/node (Debian/NodeSource: /usr). Never let node-gyp download headers.
function findNodedir() {
  const candidates = [process.env.npm_config_nodedir, process.env.NODEDIR, dirname(dirname(process.execPath))];
  for (const c of candidates) {
    if (c && existsSync(join(c, 'include', 'node', 'node_api.h'))) return c;
  }
  return undefined;
}
const nodedir = findNodedir();
if (!nodedir) {
  console.error('native: cannot find Node headers (include/node/node_api.h); set npm_config_nodedir');
  process.exit(1);
}
const require = createRequire(import.meta.url);
const gyp = require.resolve('node-gyp/bin/node-gyp.js');
const verb = existsSync(join(here, 'build', 'Makefile')) && !force ? 'build' : 'rebuild';
const t0 = Date.now();
const r = spawnSync(process.execPath, [gyp, verb, `--nodedir=${nodedir}`, '--loglevel=warn'], {
  cwd: here,
  stdio: 'inherit',
  env: { ...process.env, npm_config_nodedir: nodedir },
});
if (r.status !== 0) {
  console.error(`native: node-gyp ${verb} failed (status ${r.status})`);
  process.exit(r.status ?? 1);
}
console.log(`native: addon built in ${Date.now() - t0} ms (nodedir ${nodedir})`);
