// `l2lb-speaker run` as shipped, plus one JSON line on stdout every 2 s saying where its memory is (the
// scale bench's RSS breakdown; process.memoryUsage() and the V8 heap spaces, bytes):
//   {"event":"memory","rss","heapTotal","heapUsed","external","arrayBuffers","spaces":{name: [size, used]}}
// Arguments are `l2lb-speaker run`'s.
import { getHeapSpaceStatistics } from 'node:v8';
import { runCommand } from '../../src/run/process.js';

setInterval(() => {
  const spaces = Object.fromEntries(getHeapSpaceStatistics().map((x) => [x.space_name, [x.space_size, x.space_used_size]]));
  process.stdout.write(`${JSON.stringify({ event: 'memory', ...process.memoryUsage(), spaces })}\n`);
}, 2000).unref();

process.exit(await runCommand(process.argv.slice(2)));
