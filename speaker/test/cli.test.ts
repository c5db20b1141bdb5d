import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const bin = fileURLToPath(new URL('../../bin/l2lb-speaker.js', import.meta.url));

function cli(args: string[]): { status: number | null; lines: Record<string, unknown>[]; stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 15_000 });
  const lines = r.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { status: r.status, lines, stderr: r.stderr };
}

describe('l2lb-speaker CLI (no root needed)', () => {
  it('prints usage for --help and exits 0', () => {
    const r = spawnSync(process.execPath, [bin, 'announce', '--help'], { encoding: 'utf8' });
    assert.equal(r.status, 0);
    assert.match(r.stdout, /usage: l2lb-speaker announce --interface IF/);
  });

  it('rejects an unknown command with status 2', () => {
    assert.equal(cli(['bogus']).status, 2);
  });

  it('reports a bad IP and a missing interface as JSON error lines with status 1', () => {
    const bad = cli(['announce', '--interface', 'lo', '--ip', '10.0.0.300']);
    assert.equal(bad.status, 1);
    assert.match(String(bad.lines.at(-1)?.message), /invalid IP address '10\.0\.0\.300'/);
    const none = cli(['announce', '--interface', 'l2nnosuch0', '--ip', '10.0.0.1']);
    assert.equal(none.status, 1);
    assert.equal(none.lines.at(-1)?.event, 'error');
    assert.match(String(none.lines.at(-1)?.message), /none of the interfaces can be used: l2nnosuch0/);
  });
});
