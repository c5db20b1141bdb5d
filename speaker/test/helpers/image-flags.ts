// How the speaker image runs node: the options between `node` and the script in Dockerfile.speaker's
// ENTRYPOINT, and the environment its final stage sets (ENV). The busy and scale measurements run the
// speaker with both, so their figures are the shipped process's and cannot drift from the image.
// Pure apart from reading the file.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const DOCKERFILE = fileURLToPath(new URL('../../../../Dockerfile.speaker', import.meta.url));

/** The node options of an exec-form ENTRYPOINT (`["node", "--flag", ..., "script.js"]`); [] when there are none. */
export function entrypointNodeFlags(dockerfile: string): string[] {
  const line = dockerfile.split('\n').find((l) => /^ENTRYPOINT\s+\[/.test(l));
  if (line === undefined) throw new Error('no exec-form ENTRYPOINT');
  const argv = JSON.parse(line.replace(/^ENTRYPOINT\s+/, '')) as unknown;
  if (!Array.isArray(argv) || argv[0] !== 'node' || !argv.every((a) => typeof a === 'string')) throw new Error(`ENTRYPOINT does not run node: ${line}`);
  const flags: string[] = [];
  for (const a of argv.slice(1) as string[]) {
    if (!a.startsWith('-')) break;
    flags.push(a);
  }
  return flags;
}

/**
 * The variables the final stage's ENV instructions set, in the `ENV NAME=value [NAME=value ...]` form
 * (values unquoted or in double quotes). The legacy `ENV NAME value` form and line continuations are
 * refused rather than misread.
 */
export function finalStageEnv(dockerfile: string): Record<string, string> {
  const lines = dockerfile.split('\n');
  const lastFrom = lines.findLastIndex((l) => /^FROM\s/i.test(l));
  const env: Record<string, string> = {};
  for (const line of lines.slice(lastFrom + 1)) {
    if (!/^ENV\s/i.test(line)) continue;
    const rest = line.replace(/^ENV\s+/i, '');
    if (rest.trimEnd().endsWith('\\')) throw new Error(`ENV with a line continuation is not read: ${line}`);
    const pair = /\s*([A-Za-z_][A-Za-z0-9_]*)=("((?:[^"\\]|\\.)*)"|[^\s"]*)/y;
    let at = 0;
    while (at < rest.trimEnd().length) {
      pair.lastIndex = at;
      const m = pair.exec(rest);
      if (!m) throw new Error(`ENV not in the NAME=value form: ${line}`);
      env[m[1] as string] = m[3] !== undefined ? m[3].replace(/\\(.)/g, '$1') : (m[2] as string);
      at = pair.lastIndex;
    }
  }
  return env;
}

export function imageNodeFlags(): string[] {
  return entrypointNodeFlags(readFileSync(DOCKERFILE, 'utf8'));
}

export function imageEnv(): Record<string, string> {
  return finalStageEnv(readFileSync(DOCKERFILE, 'utf8'));
}
