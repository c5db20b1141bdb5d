// MetalLB's own configuration test cases (shared/test/fixtures/metallb-config, data taken from MetalLB's
// internal/config/config_test.go) give MetalLB's verdict through `l2lb config check`, and the controller's and
// speaker's path (ConfigState) agrees with it. The exceptions are recorded in each case (`l2lb` differs from
// `metallb`): BGP content in the legacy ConfigMap is refused, BGP objects among the CRs are ignored.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { ConfigState } from '@l2lb/shared';
import { checkConfigTexts, EXIT_VALID } from '../../src/cli/config-check.js';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
const fixtures = join(repoRoot, 'shared', 'test', 'fixtures', 'metallb-config');

type Verdict = 'accept' | 'reject';
interface Case {
  desc: string;
  metallb: Verdict;
  l2lb: Verdict;
  note?: string;
}
interface ConfigMapCase extends Case {
  raw: string;
}
interface CrdCase extends Case {
  resources: Record<string, unknown>[];
}

function cliVerdict(name: string, text: string): { verdict: Verdict; detail: string } {
  const result = checkConfigTexts([{ name, text }]);
  return { verdict: result.code === EXIT_VALID ? 'accept' : 'reject', detail: [...result.errors, ...result.warnings].join('\n') };
}

/** What the controller and the speaker do with the same input (they watch only the two layer-2 kinds). */
function processVerdict(inputs: { configMapText?: string; resources?: Record<string, unknown>[] }): Verdict {
  const update = new ConfigState().update({
    configMapText: inputs.configMapText,
    configMapObject: 'ConfigMap l2lb-system/config',
    resources: (inputs.resources ?? []).filter((r) => r['kind'] === 'IPAddressPool' || r['kind'] === 'L2Advertisement'),
  });
  return update.kind === 'invalid' ? 'reject' : 'accept';
}

describe('MetalLB v0.12.1 ConfigMap test cases through l2lb config check', () => {
  const doc = JSON.parse(readFileSync(join(fixtures, 'v0.12.1-configmap.json'), 'utf8')) as { cases: ConfigMapCase[] };
  it('has the cases', () => assert.ok(doc.cases.length >= 40, `${doc.cases.length} cases`));
  for (const c of doc.cases) {
    it(`${c.desc}: ${c.l2lb}${c.l2lb === c.metallb ? ' (as MetalLB)' : ` (MetalLB: ${c.metallb}; ${c.note ?? ''})`}`, () => {
      const raw = cliVerdict('config.yaml', c.raw);
      assert.equal(raw.verdict, c.l2lb, `raw config text:\n${raw.detail}`);
      const manifest = stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'config', namespace: 'l2lb-system' }, data: { config: c.raw } });
      const wrapped = cliVerdict('configmap.yaml', manifest);
      assert.equal(wrapped.verdict, c.l2lb, `as a ConfigMap manifest:\n${wrapped.detail}`);
      assert.equal(processVerdict({ configMapText: c.raw }), c.l2lb, 'the controller and speaker agree');
    });
  }
});

describe('MetalLB main CRD test cases through l2lb config check', () => {
  const doc = parse(readFileSync(join(fixtures, 'main-crds.yaml'), 'utf8')) as { cases: CrdCase[] };
  it('has the cases', () => assert.ok(doc.cases.length >= 25, `${doc.cases.length} cases`));
  for (const c of doc.cases) {
    it(`${c.desc}: ${c.l2lb}${c.l2lb === c.metallb ? ' (as MetalLB)' : ` (MetalLB: ${c.metallb}; ${c.note ?? ''})`}`, () => {
      const text = c.resources.map((r) => stringify(r)).join('---\n');
      const cli = cliVerdict('crs.yaml', text);
      assert.equal(cli.verdict, c.l2lb, cli.detail);
      assert.equal(processVerdict({ resources: c.resources }), c.l2lb, 'the controller and speaker agree');
    });
  }
});
