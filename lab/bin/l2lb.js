#!/usr/bin/env node
// Thin launcher so the bin link exists before the first build; the CLI lives in dist.
import { main } from '../dist/src/cli/main.js';

process.exitCode = await main(process.argv.slice(2));
