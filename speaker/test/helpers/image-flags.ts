// The node flags the speaker image runs with: the options between `node` and the script in
// Dockerfile.speaker's ENTRYPOINT. The scale bench runs the speaker with them, so its RSS figure is the
// shipped process's and cannot drift from the image. Pure apart from reading the file.
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

export function imageNodeFlags(): string[] {
  return entrypointNodeFlags(readFileSync(DOCKERFILE, 'utf8'));
}
