#!/usr/bin/env node
// The embedded API server on its own (what `l2lb apiserver` runs), for tests that start it as a process.
// Thin launcher so the bin link exists before the first build; the code lives in dist.
import { run } from '../dist/src/cli.js';

process.exitCode = await run(process.argv.slice(2));
