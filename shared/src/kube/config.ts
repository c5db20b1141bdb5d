// Where the API server is and how to authenticate: in-cluster service account, a kubeconfig file, or an
// explicit server URL (+ token / CA / insecure flag, used by tests and the lab).

import { readFileSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';

export interface KubeConfigOptions {
  /** Explicit API server URL (http:// is allowed: TLS checks do not apply to it). */
  server?: string;
  /** Bearer token for `server`. */
  token?: string;
  /** File holding the bearer token (re-read by client-node at most every 60 s). */
  tokenFile?: string;
  /** PEM CA bundle (file path) for an https `server`. */
  caFile?: string;
  /** PEM CA bundle (contents). */
  caData?: string;
  /** Skip TLS verification for an https `server` (tests only). */
  insecureSkipTlsVerify?: boolean;
  /** Kubeconfig file (takes precedence over in-cluster when given). */
  kubeconfig?: string;
  /** Context in the kubeconfig (default: its current-context). */
  context?: string;
  /** Use the in-cluster service account explicitly. `rootPath` prefixes its file paths (tests). */
  inCluster?: boolean | { rootPath?: string };
  /** Default namespace for the returned config (otherwise from the context / service account). */
  namespace?: string;
}

/**
 * Resolves a KubeConfig. Order: explicit `server`, explicit `kubeconfig`, `inCluster`, then the defaults
 * ($KUBECONFIG, ~/.kube/config, the in-cluster service account).
 */
export function loadKubeConfig(opts: KubeConfigOptions = {}): KubeConfig {
  const kc = new KubeConfig();
  if (opts.server) {
    const ca = opts.caData ?? (opts.caFile ? readFileSync(opts.caFile, 'utf8') : undefined);
    const insecure = opts.server.startsWith('http:') || opts.insecureSkipTlsVerify === true;
    kc.loadFromOptions({
      clusters: [{ name: 'l2lb', server: opts.server, skipTLSVerify: insecure, ...(ca ? { caData: Buffer.from(ca).toString('base64') } : {}) }],
      users: [{ name: 'l2lb', ...(opts.token ? { token: opts.token } : {}) }],
      contexts: [{ name: 'l2lb', cluster: 'l2lb', user: 'l2lb', ...(opts.namespace ? { namespace: opts.namespace } : {}) }],
      currentContext: 'l2lb',
    });
    if (opts.tokenFile) {
      const token = readFileSync(opts.tokenFile, 'utf8').trim();
      kc.users = kc.users.map((u) => ({ ...u, token }));
    }
  } else if (opts.kubeconfig) {
    kc.loadFromFile(opts.kubeconfig);
  } else if (opts.inCluster) {
    const root = typeof opts.inCluster === 'object' ? opts.inCluster.rootPath : undefined;
    kc.loadFromCluster(root);
  } else {
    kc.loadFromDefault();
  }
  if (opts.context) kc.setCurrentContext(opts.context);
  // client-node refuses http:// servers unless skipTLSVerify is set; TLS settings mean nothing for http.
  kc.clusters = kc.clusters.map((c) => (c.server.startsWith('http:') && !c.skipTLSVerify ? { ...c, skipTLSVerify: true } : c));
  if (opts.namespace) {
    const ctx = kc.getContextObject(kc.getCurrentContext());
    if (ctx) kc.contexts = kc.contexts.map((c) => (c.name === ctx.name ? { ...c, namespace: opts.namespace } : c));
  }
  if (!kc.getCurrentCluster()) throw new Error('kubeconfig has no current cluster (check --kubeconfig / current-context)');
  return kc;
}

/** The namespace of the current context (or "default"). */
export function currentNamespace(kc: KubeConfig): string {
  return kc.getContextObject(kc.getCurrentContext())?.namespace ?? 'default';
}
