// `l2lb apiserver` is the embedded API server of @l2lb/apiserver behind the operator CLI (the lab starts it so).
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const bin = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'bin', 'l2lb.js');

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

async function l2lb(...args: string[]): Promise<Result> {
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args], { timeout: 20_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

describe('l2lb apiserver (the operator CLI verb)', function () {
  this.timeout(30_000);

  it('prints the server usage for --help, exit 0', async () => {
    const r = await l2lb('apiserver', '--help');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^usage: l2lb apiserver \[--listen HOST:PORT\]/);
  });

  it('names a bad --listen value, exit 2', async () => {
    const r = await l2lb('apiserver', '--listen', 'nowhere');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--listen wants HOST:PORT, got "nowhere"/);
  });

  it('serves on loopback until SIGTERM, then exits 0', async () => {
    const child = spawn(process.execPath, [bin, 'apiserver', '--listen', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      out += d.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const deadline = Date.now() + 20_000;
      while (!/serving http:\/\/127\.0\.0\.1:(\d+)/.test(out)) {
        if (Date.now() > deadline || child.exitCode !== null) assert.fail(`l2lb apiserver did not start: ${out}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      const url = /serving (http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1] ?? '';
      const version = (await (await fetch(`${url}/version`)).json()) as { gitVersion?: string };
      assert.match(version.gitVersion ?? '', /^v1\./);
      child.kill('SIGTERM');
      assert.equal(await exited, 0);
      assert.match(out, /l2lb apiserver: stopped/);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
