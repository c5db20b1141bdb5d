// Which kubectl the kubectl tests run: L2LB_TEST_KUBECTL (a path, e.g. Debian bookworm's kubectl 1.20 from the
// kubernetes-client package) or the `kubectl` on PATH. Both servers' users matter: a fresh Debian machine gets
// 1.20 from scripts/setup-system.sh, while CI and developers usually have a current one.

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const exec = promisify(execFile);

export const KUBECTL = process.env['L2LB_TEST_KUBECTL'] || 'kubectl';

/** The client's minor version (e.g. 20 for v1.20.2); fails clearly when the binary is missing. */
export async function kubectlMinor(): Promise<number> {
  const { stdout } = await exec(KUBECTL, ['version', '--client', '-o', 'json'], { timeout: 20_000 }).catch((e: Error) => {
    throw new Error(`kubectl (${KUBECTL}) is not runnable: ${e.message} (CI image ships /usr/bin/kubectl; set L2LB_TEST_KUBECTL to pick another)`);
  });
  const info = JSON.parse(stdout) as { clientVersion?: { minor?: string } };
  const minor = Number.parseInt(info.clientVersion?.minor ?? '', 10);
  if (!Number.isFinite(minor)) throw new Error(`cannot read the client version of ${KUBECTL} from: ${stdout}`);
  return minor;
}
