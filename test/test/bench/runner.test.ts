// The benchmark runner (test/bench/run.js): `--strict` turns a printed TARGET MISSED into a failing
// exit status, so CI or a release script can gate on the targets. Runs a copy of the runner over a
// scratch tree of fake benchmarks, so no real benchmark runs.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const RUNNER = fileURLToPath(new URL('../../../bench/run.js', import.meta.url));

describe('bench runner', () => {
  let root = '';
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'l2lb-bench-runner-'));
    mkdirSync(join(root, 'test', 'bench'), { recursive: true });
    copyFileSync(RUNNER, join(root, 'test', 'bench', 'run.js'));
    writeFileSync(join(root, 'package.json'), '{"type":"module"}\n');
    const benches = join(root, 'pkg', 'dist', 'bench');
    mkdirSync(benches, { recursive: true });
    writeFileSync(join(benches, 'met.bench.js'), "console.log('target met: fast enough');\n");
    // Split over two writes so the runner must join a line that arrives in pieces.
    writeFileSync(join(benches, 'missed.bench.js'), "process.stdout.write('TARGET MIS'); setTimeout(() => process.stdout.write('SED: too slow\\n'), 50);\n");
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  function run(...args: string[]): { status: number | null; stdout: string; stderr: string } {
    const r = spawnSync(process.execPath, [join(root, 'test', 'bench', 'run.js'), ...args], { encoding: 'utf8', timeout: 30_000 });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  }

  it('without --strict, a missed target is reported but the run succeeds', () => {
    const r = run();
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /TARGET MISSED: too slow/);
  });

  it('with --strict, a missed target fails the run and the summary names the benchmark', () => {
    const r = run('--strict');
    assert.equal(r.status, 1, r.stdout);
    assert.match(r.stderr, /missed\s*:\s*TARGET MISSED: too slow/);
  });

  it('with --strict, benchmarks that meet their targets pass', () => {
    assert.equal(run('--strict', 'met').status, 0);
  });

  it('refuses an unknown flag, naming it', () => {
    const r = run('--strcit');
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--strcit/);
  });
});
