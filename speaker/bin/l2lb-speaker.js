#!/usr/bin/env node
// Launcher for the compiled CLI (run `npm run build` first).
import { main } from '../dist/src/cli.js';

main(process.argv.slice(2));
