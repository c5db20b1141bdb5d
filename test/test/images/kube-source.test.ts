// scripts/kube-apiserver.sh and scripts/kube-binaries.sh build from Debian's kubernetes source through one recipe
// (scripts/lib/kube-source.sh). Checked with apt-get and make replaced by stubs on PATH (no download, no Go build,
// nothing written outside a temporary directory): what each script builds, where it caches, and that it cleans up.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const scripts = fileURLToPath(new URL('../../../../scripts/', import.meta.url));

/** A fake source package, stub apt-get/make that log their calls, and an apt directory that has a deb-src entry. */
function fixture(): { dir: string; env: NodeJS.ProcessEnv; calls: () => string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'l2lb-kube-source-'));
  const tree = join(dir, 'pkg', 'kubernetes-1.20.2');
  for (const d of ['vendor/github.com', 'staging/src/k8s.io/apimachinery', 'build/pause/linux']) mkdirSync(join(tree, d), { recursive: true });
  for (const f of ['go.mod', 'vendor/modules.txt', 'staging/src/k8s.io/apimachinery/go.mod'])
    writeFileSync(join(tree, f), 'modern-go/reflect2 v1.0.1\njson-iterator/go v1.1.10\n');
  const tarball = join(dir, 'kubernetes_1.20.2.orig.tar.gz');
  assert.equal(spawnSync('tar', ['-C', join(dir, 'pkg'), '-czf', tarball, 'kubernetes-1.20.2']).status, 0);
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  const log = join(dir, 'calls');
  writeFileSync(log, '');
  writeFileSync(join(bin, 'apt-get'), `#!/bin/bash\necho "apt-get $*" >>'${log}'\n[ "$1" = source ] && cp '${tarball}' .\nexit 0\n`);
  // make WHAT="cmd/a cmd/b": one stub binary per target that reports v1.20.2, and whether the vendored libraries were swapped.
  writeFileSync(
    join(bin, 'make'),
    `#!/bin/bash\necho "make $* GOFLAGS=$GOFLAGS swapped=$(grep -c 'v1.0.2\\|v1.1.12' go.mod)" >>'${log}'\n` +
      "mkdir -p _output/bin\nfor w in ${1#WHAT=}; do n=${w#cmd/}; printf '#!/bin/sh\\necho Kubernetes v1.20.2\\n' >_output/bin/$n; chmod +x _output/bin/$n; done\n",
  );
  for (const f of ['apt-get', 'make']) chmodSync(join(bin, f), 0o755);
  const apt = join(dir, 'apt');
  mkdirSync(join(apt, 'sources.list.d'), { recursive: true });
  writeFileSync(join(apt, 'sources.list.d', 'src.sources'), 'Types: deb-src\nURIs: http://mirror.test/debian\nSuites: bookworm\nComponents: main\n');
  const tmp = join(dir, 'tmp');
  mkdirSync(tmp);
  return {
    dir,
    env: { ...process.env, PATH: `${bin}:${process.env['PATH'] ?? ''}`, TMPDIR: tmp, L2LB_APT_DIR: apt },
    calls: () => readFileSync(log, 'utf8').trim().split('\n'),
  };
}

describe('kube-source.sh: one build recipe for kube-apiserver.sh and kube-binaries.sh', function () {
  this.timeout(60_000);
  let fx: ReturnType<typeof fixture>;
  beforeEach(() => {
    fx = fixture();
  });
  afterEach(() => rmSync(fx.dir, { recursive: true, force: true }));

  it('kube-apiserver.sh install builds cmd/kube-apiserver into its cache, exits 0 and removes its work directory', function () {
    // Debian's Go library copies swapped into the vendor tree; the real setup installs them.
    if (!existsSync('/usr/share/gocode/src/github.com/modern-go/reflect2')) this.skip();
    const cache = join(fx.dir, 'cache');
    const r = spawnSync('bash', [join(scripts, 'kube-apiserver.sh'), 'install'], {
      encoding: 'utf8',
      env: { ...fx.env, L2LB_KUBE_CACHE: cache, L2LB_KUBE_PREBUILT: join(fx.dir, 'none.xz') },
    });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), join(cache, 'kube-apiserver-v1.20.2'));
    assert.deepEqual(readdirSync(cache), ['kube-apiserver-v1.20.2']);
    assert.deepEqual(
      fx.calls().filter((c) => c.startsWith('make ')),
      ['make WHAT=cmd/kube-apiserver GOFLAGS=-mod=vendor swapped=2'],
    );
    assert.deepEqual(readdirSync(fx.env['TMPDIR'] ?? ''), [], 'the source tree is removed');
  });

  it('kube-binaries.sh install builds the five Go binaries in one make into its cache and removes its work directory', function () {
    if (!existsSync('/usr/share/gocode/src/github.com/modern-go/reflect2')) this.skip();
    if (process.getuid?.() !== 0) this.skip(); // it refuses to fetch the source without root (apt)
    const cache = join(fx.dir, 'cache');
    mkdirSync(cache);
    // A pause binary already there: only the Go binaries are built (pause needs gcc, not part of the recipe).
    writeFileSync(join(cache, 'pause'), '#!/bin/sh\necho pause\n', { mode: 0o755 });
    const r = spawnSync('bash', [join(scripts, 'kube-binaries.sh'), 'install'], {
      encoding: 'utf8',
      env: { ...fx.env, L2LB_KUBE_BIN_DIR: cache, L2LB_KUBE_PREBUILT_DIR: join(fx.dir, 'none') },
    });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), cache);
    assert.deepEqual(
      readdirSync(cache)
        .filter((f) => !f.startsWith('.'))
        .sort(),
      ['kube-apiserver', 'kube-controller-manager', 'kube-proxy', 'kube-scheduler', 'kubelet', 'pause'],
    );
    assert.deepEqual(
      fx.calls().filter((c) => c.startsWith('make ')),
      ['make WHAT=cmd/kube-apiserver cmd/kube-controller-manager cmd/kube-scheduler cmd/kubelet cmd/kube-proxy GOFLAGS=-mod=vendor swapped=2'],
    );
    assert.deepEqual(readdirSync(fx.env['TMPDIR'] ?? ''), [], 'the source tree is removed');
  });
});
