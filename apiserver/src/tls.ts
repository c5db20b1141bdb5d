// A self-signed serving certificate for the embedded API server (openssl CLI; kept in a directory so a
// restarted server keeps the same CA in its kubeconfig).

import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { errorText } from '@l2lb/shared/log';

export function selfSignedCert(dir: string, host: string): { cert: string; key: string } {
  mkdirSync(dir, { recursive: true });
  const certFile = join(dir, 'apiserver.crt');
  const keyFile = join(dir, 'apiserver.key');
  if (!existsSync(certFile) || !existsSync(keyFile)) {
    const names = new Set(['IP:127.0.0.1', 'DNS:localhost']);
    if (host && host !== '0.0.0.0' && host !== '::') names.add(isIP(host) ? `IP:${host}` : `DNS:${host}`);
    try {
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'rsa:2048',
          '-nodes',
          '-keyout',
          keyFile,
          '-out',
          certFile,
          '-days',
          '3650',
          '-subj',
          '/CN=l2lb-apiserver',
          '-addext',
          `subjectAltName=${[...names].join(',')}`,
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
    } catch (e) {
      throw new Error(`cannot create a self-signed certificate with openssl: ${errorText(e)}`);
    }
    chmodSync(keyFile, 0o600); // the private key: owner-only whatever openssl's version and the umask do
  }
  return { cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8') };
}
