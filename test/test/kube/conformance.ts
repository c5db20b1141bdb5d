// The conformance suite: client-visible API behaviour l2lb depends on. It runs against the embedded API
// server (embedded.test.ts) and a real kube-apiserver v1.20 (real-apiserver.test.ts), so the embedded
// test double cannot drift from the real thing.
// The cases are grouped by subject in conformance-objects.ts, conformance-watch.ts and conformance-kinds.ts;
// they run in the order below (later groups read objects earlier ones created).

import { Resources } from '@l2lb/shared/kube/types';
import type { Suite } from './conformance-support.js';
import { createGetDeleteCases, listCases, statusCases, updateCases } from './conformance-objects.js';
import { customResourceCases, eventCases, leaseSecretDiscoveryCases } from './conformance-kinds.js';
import { informerCases, restartCases, watchCases } from './conformance-watch.js';
import { uniqueName, type Target } from './helpers.js';

export function conformance(getTarget: () => Target): void {
  // Filled in by the before hook; the groups' hooks and cases only read it after that hook has run.
  const suite = {} as Suite;

  before(async function () {
    suite.t = getTarget();
    suite.c = suite.t.client;
    suite.ns = uniqueName('l2lb-conf');
    await suite.c.create(Resources.namespaces, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: suite.ns } });
  });

  createGetDeleteCases(suite);
  listCases(suite);
  watchCases(suite);
  updateCases(suite);
  statusCases(suite);
  customResourceCases(suite);
  eventCases(suite);
  leaseSecretDiscoveryCases(suite);
  informerCases(suite);
  restartCases(suite);
}
