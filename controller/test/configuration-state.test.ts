// ConfigurationState (MetalLB's metallb.io/v1beta1 shape) written by the real l2lb-controller process: Valid
// with a valid configuration, Invalid with the error summary when the ConfigMap breaks (the last valid
// configuration staying in force), Valid again once fixed. Embedded API server and real kube-apiserver; on
// the real one the CRD is the one manifests/l2lb.yaml installs.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { Resources, type KubeObject } from '@l2lb/shared/kube/types';
import { waitFor } from './helpers.js';
import { ControllerProcess, embeddedTarget, ensureNamespace, pool, putConfigMap, realTarget, repoRoot, type ApiTarget } from './env.js';

const NS = 'l2lb-system';

interface StateView {
  labels: Record<string, string>;
  result?: string;
  errorSummary?: string;
  conditions?: { type: string; status: string; reason: string; message: string }[];
}

/** The CRDs manifests/l2lb.yaml installs (labelled l2lb.io/crd). */
function manifestCrds(): KubeObject[] {
  const text = readFileSync(join(repoRoot, 'manifests', 'l2lb.yaml'), 'utf8');
  return parseAllDocuments(text)
    .map((d) => d.toJSON() as KubeObject)
    .filter((o) => o?.kind === 'CustomResourceDefinition');
}

function suite(title: string, makeTarget: () => Promise<ApiTarget>): void {
  describe(title, function () {
    this.timeout(120_000);
    let target: ApiTarget | undefined;
    let controller: ControllerProcess | undefined;

    const state = async (): Promise<StateView | undefined> => {
      const list = await (target as ApiTarget).client.list(Resources.configurationStates, { namespace: NS });
      const o = list.items.find((x) => x.metadata?.name === 'controller');
      if (o === undefined) return undefined;
      const status = (o as { status?: Omit<StateView, 'labels'> }).status ?? {};
      return { labels: o.metadata?.labels ?? {}, ...status };
    };

    before(async () => {
      target = await makeTarget();
      await ensureNamespace(target.client, NS);
      if (target.kind === 'real') {
        for (const crd of manifestCrds()) await target.client.create(Resources.customResourceDefinitions, undefined, crd);
        const client = target.client;
        await waitFor(async () => client.serves(Resources.configurationStates).catch(() => false), { timeoutMs: 30_000, what: 'configurationstates served' });
      }
      await putConfigMap(target.client, pool('first', ['192.0.2.0/28']));
      controller = await ControllerProcess.start(target);
      await controller.waitReady(30_000);
    });

    after(async () => {
      await controller?.kill('SIGKILL').catch(() => undefined);
      await target?.close();
    });

    afterEach(function () {
      if (this.currentTest?.state === 'failed' && controller !== undefined) {
        console.log(
          controller.logs
            .slice(-30)
            .map((l) => JSON.stringify(l))
            .join('\n'),
        );
      }
    });

    it('writes ConfigurationState "controller" with MetalLB\'s label, Valid', async () => {
      const s = await waitFor(
        async () => {
          const v = await state();
          return v?.result === 'Valid' ? v : undefined;
        },
        { timeoutMs: 15_000, what: 'ConfigurationState controller Valid' },
      );
      assert.deepEqual(s.labels, { 'metallb.io/component-type': 'controller' });
      assert.equal(s.errorSummary ?? '', '');
      assert.deepEqual(
        s.conditions?.map((c) => [c.type, c.status, c.reason]),
        [['configReconcilerValid', 'True', 'Reconciled']],
      );
    });

    it('an invalid ConfigMap makes it Invalid with the error summary; fixed, it is Valid again', async () => {
      await putConfigMap((target as ApiTarget).client, pool('first', ['192.0.2.0/28', 'not-a-cidr']));
      const bad = await waitFor(
        async () => {
          const v = await state();
          return v?.result === 'Invalid' ? v : undefined;
        },
        { timeoutMs: 15_000, what: 'ConfigurationState controller Invalid' },
      );
      assert.match(bad.errorSummary ?? '', /not-a-cidr/);
      assert.match(bad.errorSummary ?? '', /pool #1 "first": addresses\[1\]/, 'names the pool and the field');
      assert.deepEqual(
        bad.conditions?.map((c) => [c.type, c.status, c.reason]),
        [['configReconcilerValid', 'False', 'ConfigurationError']],
      );
      // The last valid configuration stays in force meanwhile (MetalLB's stale state).
      assert.equal(await controller?.metric('l2lb_controller_config_stale'), 1);
      await putConfigMap((target as ApiTarget).client, pool('first', ['192.0.2.0/28']));
      const good = await waitFor(
        async () => {
          const v = await state();
          return v?.result === 'Valid' ? v : undefined;
        },
        { timeoutMs: 15_000, what: 'ConfigurationState controller Valid again' },
      );
      assert.equal(good.errorSummary ?? '', '', 'no error summary once valid');
    });
  });
}

suite('controller ConfigurationState (embedded API server)', () => embeddedTarget());

describe('controller ConfigurationState against the real kube-apiserver @integration', () => {
  suite('(real kube-apiserver v1.20)', realTarget);
});
