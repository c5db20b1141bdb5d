// The container images built by scripts/build-images.sh from the unchanged Dockerfiles: the speaker image
// loads its native addon, each image runs as its Dockerfile's USER, the controller image holds no compiler.
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url));
const version = (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
const IMAGES = { controller: `ghcr.io/l2lb/controller:${version}`, speaker: `ghcr.io/l2lb/speaker:${version}` } as const;

/** Podman asks for nofile/nproc limits above what a host without CAP_SYS_RESOURCE may set: cap them at ours. */
const hardNofile = spawnSync('sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).stdout.trim() || '1024';
const ULIMITS = [`--ulimit=nofile=${hardNofile}:${hardNofile}`, '--ulimit=nproc=32768:32768'];

/** `podman run` without network. */
async function inImage(image: string, entrypoint: string, args: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await run('podman', ['run', '--rm', '--network=none', ...ULIMITS, '--entrypoint', entrypoint, image, ...args], {
      timeout: 120_000,
    });
    return { code: 0, out: `${stdout}${stderr}`.trim() };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === 'number' ? err.code : 1, out: `${err.stdout ?? ''}${err.stderr ?? ''}`.trim() };
  }
}

/** The USER of a Dockerfile's final stage (root when there is none). */
function dockerfileUser(file: string): string {
  const text = readFileSync(join(repoRoot, file), 'utf8');
  const last = text.slice(text.lastIndexOf('\nFROM '));
  return /^USER\s+(\S+)/m.exec(last)?.[1] ?? '0';
}

describe('container images @integration', function () {
  this.timeout(40 * 60_000);

  before(async function () {
    const why =
      process.getuid?.() !== 0
        ? 'needs root'
        : spawnSync('sh', ['-c', 'command -v podman']).status !== 0
          ? 'podman is not installed (bash scripts/setup-system.sh)'
          : undefined;
    if (why) {
      if (process.env['CI'] === 'true') throw new Error(`image tests: ${why}`);
      this.skip();
    }
    // Cached layers make this a few seconds after the first build (L2LB_LAB_USE_BUILT_IMAGES=1: test the
    // images as built, for development, where every working-tree edit invalidates the build stage).
    if (process.env['L2LB_LAB_USE_BUILT_IMAGES'] === '1') return;
    const started = Date.now();
    const { stdout } = await run('bash', [join(repoRoot, 'scripts', 'build-images.sh'), 'l2lb'], { timeout: 40 * 60_000, maxBuffer: 1 << 24 });
    process.stdout.write(
      `      built in ${((Date.now() - started) / 1000).toFixed(0)} s:\n${stdout
        .trim()
        .split('\n')
        .map((l) => `        ${l}`)
        .join('\n')}\n`,
    );
  });

  it('the speaker image loads its AF_PACKET addon', async function () {
    const r = await inImage(IMAGES.speaker, 'node', [
      '-e',
      "const a = require('/app/native/build/Release/l2lb_native.node'); console.log(Object.keys(a).sort().join(','))",
    ]);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /PacketSocket/);
  });

  for (const [name, file] of [
    ['controller', 'Dockerfile.controller'],
    ['speaker', 'Dockerfile.speaker'],
  ] as const) {
    it(`the ${name} image runs as its Dockerfile's USER`, async function () {
      const want = dockerfileUser(file);
      const r = await inImage(IMAGES[name], 'sh', ['-c', 'echo "$(id -u):$(id -g)"']);
      assert.equal(r.code, 0, r.out);
      const [uid, gid] = r.out.split(':');
      const [wantUid, wantGid] = want.split(':');
      assert.equal(uid, wantUid, `${name} runs as uid ${uid}, Dockerfile says USER ${want}`);
      if (wantGid !== undefined) assert.equal(gid, wantGid);
    });
  }

  it('the controller image holds no compiler or build tool', async function () {
    const r = await inImage(IMAGES.controller, 'sh', [
      '-c',
      'for t in gcc g++ cc c++ make python3 node-gyp; do command -v $t; done; ls /usr/lib/gcc 2>/dev/null; true',
    ]);
    assert.equal(r.code, 0, r.out);
    assert.equal(r.out, '', `found in the controller image: ${r.out}`);
  });

  it('the controller image runs its entrypoint (--help)', async function () {
    const r = await inImage(IMAGES.controller, 'node', ['/app/controller/bin/l2lb-controller.js', '--help']);
    assert.equal(r.code, 0, r.out);
  });
});
