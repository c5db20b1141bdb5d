// scripts/lib/debian-sources.sh: apt entries derived from the system's configuration (so the repository
// names no mirror), checked on fixture apt directories, with a property test over generated entries.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';

const lib = fileURLToPath(new URL('../../../../scripts/lib/debian-sources.sh', import.meta.url));

function derive(files: Record<string, string>, args: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'l2lb-apt-'));
  try {
    mkdirSync(join(dir, 'sources.list.d'));
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    const r = spawnSync('bash', ['-c', `. "${lib}" && debian_codename >/dev/null && debian_sources ${args}`], {
      encoding: 'utf8',
      env: { ...process.env, L2LB_APT_DIR: dir },
    });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const codename = spawnSync('bash', ['-c', `. "${lib}" && debian_codename`], { encoding: 'utf8' }).stdout.trim();

describe('debian-sources.sh', () => {
  it('turns configured deb entries of this release into deb-src, and leaves everything else out', () => {
    const out = derive(
      {
        'sources.list.d/debian.sources':
          `Types: deb\n# a comment\nURIs: http://mirror.test/debian\nSuites: ${codename} ${codename}-updates\nComponents: main\nSigned-By: /k.gpg\n\n` +
          `Types: deb\nURIs: http://other.test/x\nSuites: vendor-${codename}\nComponents: main\n\n` +
          `Types: deb\nURIs: http://off.test/x\nSuites: ${codename}\nComponents: main\nEnabled: no\n`,
        'sources.list.d/one.list': `# deb http://commented.test ${codename} main\ndeb [arch=amd64 signed-by=/o.gpg] http://line.test/debian ${codename} main contrib\n`,
      },
      'deb-src',
    );
    assert.equal(
      out,
      `Types: deb-src\nURIs: http://mirror.test/debian\nSuites: ${codename}\nComponents: main\nSigned-By: /k.gpg\n\n` +
        `Types: deb-src\nURIs: http://line.test/debian\nSuites: ${codename}\nComponents: main contrib\nSigned-By: /o.gpg\n\n`,
    );
  });

  it('all-suites keeps -updates and -security entries with their suites', () => {
    const out = derive(
      {
        'sources.list.d/debian.sources':
          `Types: deb\nURIs: http://m.test/debian\nSuites: ${codename} ${codename}-updates\nComponents: main\n\n` +
          `Types: deb\nURIs: http://m.test/debian-security\nSuites: ${codename}-security\nComponents: main\n`,
      },
      'deb all-suites',
    );
    assert.match(out, new RegExp(`Suites: ${codename} ${codename}-updates\n`));
    assert.match(out, new RegExp(`URIs: http://m.test/debian-security\nSuites: ${codename}-security\n`));
  });

  it('property: every one-line entry of this release appears once, with its host, and no other entry does', function () {
    this.timeout(120_000);
    const host = fc.stringMatching(/^[a-z][a-z0-9]{0,8}\.test$/);
    const entry = fc.record({
      host,
      ours: fc.boolean(),
      comps: fc.uniqueArray(fc.constantFrom('main', 'contrib', 'non-free'), { minLength: 1, maxLength: 3 }),
    });
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 5 }), (entries) => {
        const list = entries.map((e) => `deb http://${e.host}/d ${e.ours ? codename : `x${codename}`} ${e.comps.join(' ')}`).join('\n');
        const out = derive({ 'sources.list': `${list}\n` }, 'deb-src');
        const stanzas = out.split('\n\n').filter((s) => s.trim() !== '');
        const ours = entries.filter((e) => e.ours);
        assert.equal(stanzas.length, ours.length);
        ours.forEach((e, i) => assert.equal(stanzas[i], `Types: deb-src\nURIs: http://${e.host}/d\nSuites: ${codename}\nComponents: ${e.comps.join(' ')}`));
      }),
      { numRuns: 40 },
    );
  });

  it('no script or Dockerfile names a package mirror or registry host', () => {
    const root = fileURLToPath(new URL('../../../../', import.meta.url));
    const files = [
      ...readdirSync(join(root, 'scripts'))
        .filter((f) => f.endsWith('.sh'))
        .map((f) => join(root, 'scripts', f)),
      ...readdirSync(join(root, 'scripts', 'lib')).map((f) => join(root, 'scripts', 'lib', f)),
      ...readdirSync(root)
        .filter((f) => f.startsWith('Dockerfile'))
        .map((f) => join(root, f)),
    ];
    const hosts =
      /\b(?:deb\.debian\.org|security\.debian\.org|snapshot\.debian\.org|ftp\.[a-z.]*debian\.org|registry\.npmjs\.org|registry\.yarnpkg\.com|docker\.io|k8s\.gcr\.io|registry\.k8s\.io|quay\.io)\b/;
    for (const f of files) assert.doesNotMatch(readFileSync(f, 'utf8'), hosts, f);
  });
});
