// runUntilSignal in a child process: a second SIGTERM that lands after the stop finished, while the log
// is being flushed, must not kill the process (exit 0, not "killed by SIGTERM"). The log's flush is held
// for its whole 200 ms allowance so the second signal lands inside that window every time.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { runUntilSignal } from '../src/lifecycle.js';

const lifecycle = pathToFileURL(join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'lifecycle.js')).href;

const CHILD = `
import { runUntilSignal } from ${JSON.stringify(lifecycle)};
const say = (m) => process.stdout.write(m + '\\n');
// A logger whose flush never reports 'finish': runUntilSignal waits its 200 ms allowance.
const log = { info: (m) => say(m), error: (m) => say(m), on: () => log, end: () => undefined };
setInterval(() => undefined, 1000);
const service = { start: async () => undefined, stop: async () => undefined };
runUntilSignal(service, { log, stopping: 'stopping', ready: 'ready', failed: 'failed', deadline: { ms: 2500, code: 0 } })
  .then((code) => process.exit(code));
`;

describe('runUntilSignal (child process)', function () {
  this.timeout(20_000);

  it('a second SIGTERM while the log is flushed after the stop does not kill the process: exit 0', async () => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once('close', (code, signal) => r({ code, signal })));
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (/^ready$/m.test(out) && !out.includes('SIGTERM received')) child.kill('SIGTERM');
      if (/^stopped$/m.test(out)) child.kill('SIGTERM'); // inside the 200 ms flush window
    });
    const result = await exited;
    assert.deepEqual(result, { code: 0, signal: null }, out);
  });

  it('a SIGTERM after runUntilSignal returned, before the caller exits, does not kill the process: exit 0', async () => {
    // The caller exits a moment later (a busy process, or exit handlers): the signal lands in that gap.
    const child = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        CHILD.replace('.then((code) => process.exit(code))', ".then((code) => { say('returned'); setTimeout(() => process.exit(code), 300); })"),
      ],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once('close', (code, signal) => r({ code, signal })));
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (/^ready$/m.test(out) && !out.includes('SIGTERM received')) child.kill('SIGTERM');
      if (/^returned$/m.test(out)) child.kill('SIGTERM');
    });
    const result = await exited;
    assert.deepEqual(result, { code: 0, signal: null }, out);
  });

  it('a service that reports a failure after start is stopped and the exit code is 1', async () => {
    const lines: string[] = [];
    const say = (m: string): void => void lines.push(m);
    const log = { info: say, error: say, warn: say, debug: say, on: () => log, end: () => undefined };
    let fail: (e: Error) => void = () => undefined;
    let stopped = 0;
    const service = { start: async () => undefined, stop: async () => void stopped++ };
    const code = await runUntilSignal(service, {
      log: log as unknown as Parameters<typeof runUntilSignal>[1]['log'],
      stopping: 'stopping',
      ready: 'ready',
      failed: 'speaker failed',
      deadline: { ms: 2500, code: 0 },
      failure: new Promise<Error>((resolve) => {
        fail = resolve;
        setImmediate(() => fail(new Error('the network thread exited (code 1)')));
      }),
    });
    assert.equal(code, 1);
    assert.equal(stopped, 1);
    assert.ok(lines.includes('speaker failed: the network thread exited (code 1)'), lines.join('\n'));
  });
});
