#!/usr/bin/env node
// `kubectl l2lb ...`: kubectl runs any kubectl-<name> on the PATH as a plugin. Thin launcher; the code is in dist.
import { pluginMain } from '../dist/src/plugin/main.js';

process.exitCode = await pluginMain(process.argv.slice(2), {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
  isTTY: process.stdout.isTTY === true && !process.env.NO_COLOR,
});
