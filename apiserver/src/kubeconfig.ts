// Kubeconfig for the embedded server, usable as is by kubectl, the controller and the speakers.

export interface KubeconfigParams {
  server: string;
  token?: string;
  /** PEM CA certificate for an HTTPS server (embedded as certificate-authority-data). */
  caPem?: string;
  namespace?: string;
  name?: string;
}

function q(s: string): string {
  return JSON.stringify(s);
}

export function renderKubeconfig(p: KubeconfigParams): string {
  const name = p.name ?? 'l2lb-lab';
  const cluster = [`    server: ${q(p.server)}`];
  if (p.caPem) cluster.push(`    certificate-authority-data: ${Buffer.from(p.caPem).toString('base64')}`);
  else if (p.server.startsWith('http:')) cluster.push('    insecure-skip-tls-verify: true');
  const user = p.token ? ['  user:', `    token: ${q(p.token)}`] : ['  user: {}'];
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    `- name: ${name}`,
    '  cluster:',
    ...cluster,
    'users:',
    `- name: ${name}-admin`,
    ...user,
    'contexts:',
    `- name: ${name}`,
    '  context:',
    `    cluster: ${name}`,
    `    user: ${name}-admin`,
    `    namespace: ${q(p.namespace ?? 'default')}`,
    `current-context: ${name}`,
    '',
  ].join('\n');
}
