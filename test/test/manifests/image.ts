// The file layout a Dockerfile's runtime stage would produce, rebuilt from this (built) checkout without a
// container engine: its `COPY --from=build /src/X DEST` lines applied to a temporary /app, node_modules
// reduced to what `npm prune --omit=dev` keeps (package-lock.json's non-dev packages, linked from the root
// node_modules; workspace packages linked only when the stage copied them). Running the entrypoint from
// there shows the image holds every file its process loads.

import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { isObj, repoRoot } from './load.js';

export interface ImageLayout {
  /** Stands for /app. */
  readonly dir: string;
  /** ENTRYPOINT + CMD with /app/ paths mapped into dir. */
  readonly entrypoint: string[];
  readonly cmd: string[];
  readonly env: Record<string, string>;
  /** USER as uid/gid, if set. */
  readonly user: { uid: number; gid: number } | undefined;
  remove(): void;
}

function jsonArray(text: string, what: string): string[] {
  const v: unknown = JSON.parse(text);
  if (!Array.isArray(v) || !v.every((x): x is string => typeof x === 'string')) throw new Error(`${what}: not a JSON list of strings`);
  return v;
}

/** Top-level packages `npm prune --omit=dev` keeps: name → workspace folder (links) or undefined. */
function productionPackages(): Map<string, string | undefined> {
  const lock: unknown = JSON.parse(readFileSync(join(repoRoot, 'package-lock.json'), 'utf8'));
  const packages = isObj(lock) && isObj(lock['packages']) ? lock['packages'] : {};
  const out = new Map<string, string | undefined>();
  for (const [key, value] of Object.entries(packages)) {
    if (!key.startsWith('node_modules/') || key.indexOf('node_modules/', 1) !== -1 || !isObj(value) || value['dev'] === true) continue;
    const name = key.slice('node_modules/'.length);
    out.set(name, value['link'] === true && typeof value['resolved'] === 'string' ? value['resolved'] : undefined);
  }
  return out;
}

export function imageLayout(dockerfile: string): ImageLayout {
  const text = readFileSync(join(repoRoot, dockerfile), 'utf8');
  const stages = text.split(/^FROM /m);
  const runtime = (stages[stages.length - 1] ?? '').split('\n').slice(1);
  const dir = mkdtempSync(join(tmpdir(), 'l2mf-image-'));
  chmodSync(dir, 0o755);
  const app = (p: string): string => join(dir, p.replace(/^\/app\/?/, '').replace(/^\.\/?/, ''));
  let entrypoint: string[] = [];
  let cmd: string[] = [];
  let user: ImageLayout['user'];
  const env: Record<string, string> = {};
  const links: [string, string][] = [];
  for (const raw of runtime) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const [instruction = '', ...rest] = line.split(/\s+/);
    const args = line.slice(instruction.length).trim();
    switch (instruction) {
      case 'WORKDIR':
        if (args !== '/app') throw new Error(`${dockerfile}: WORKDIR ${args} (this check expects /app)`);
        break;
      case 'ENV': {
        const m = /^(\w+)=(\S*)$/.exec(args);
        if (!m) throw new Error(`${dockerfile}: ENV ${args} (expects NAME=value)`);
        env[m[1] ?? ''] = m[2] ?? '';
        break;
      }
      case 'USER': {
        const [uid, gid] = args.split(':').map(Number);
        user = { uid: uid ?? NaN, gid: gid ?? uid ?? NaN };
        break;
      }
      case 'ENTRYPOINT':
        entrypoint = jsonArray(args, `${dockerfile} ENTRYPOINT`);
        break;
      case 'CMD':
        cmd = jsonArray(args, `${dockerfile} CMD`);
        break;
      case 'COPY': {
        if (rest[0] !== '--from=build' || rest.length !== 3) throw new Error(`${dockerfile}: unexpected ${line}`);
        const src = (rest[1] ?? '').replace(/^\/src\//, '');
        const dest = rest[2] ?? '';
        const from = join(repoRoot, src);
        if (!existsSync(from)) throw new Error(`${dockerfile}: ${src} does not exist (build first)`);
        if (src === 'node_modules') {
          links.push([from, app(dest)]);
          break;
        }
        const target = statSync(from).isDirectory() || !dest.endsWith('/') ? app(dest) : join(app(dest), basename(src));
        mkdirSync(dirname(target), { recursive: true });
        cpSync(from, target, { recursive: true });
        break;
      }
      case 'EXPOSE':
      case 'LABEL':
        break;
      default:
        throw new Error(`${dockerfile}: this check does not know ${instruction}`);
    }
  }
  for (const [from, to] of links) {
    mkdirSync(to, { recursive: true });
    for (const [name, workspace] of productionPackages()) {
      const link = join(to, name);
      const real = workspace !== undefined ? join(dir, workspace) : join(from, name);
      if (!existsSync(real)) continue; // a workspace package the stage did not copy (lab, test, ...)
      mkdirSync(dirname(link), { recursive: true });
      symlinkSync(real, link);
    }
  }
  const map = (a: string): string => (a.startsWith('/app/') ? app(a) : a);
  return {
    dir,
    entrypoint: entrypoint.map(map),
    cmd,
    env,
    user,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * What the kubelet runs for `container` in this image: its `command` replaces ENTRYPOINT, its `args` replace
 * CMD. Returned without the leading `node` (the caller runs this Node.js).
 */
export function containerArgv(image: ImageLayout, container: Record<string, unknown>): string[] {
  const strings = (v: unknown): string[] | undefined => (Array.isArray(v) ? v.map(String) : undefined);
  const argv = [...(strings(container['command']) ?? image.entrypoint), ...(strings(container['args']) ?? image.cmd)];
  if (argv[0] !== 'node') throw new Error(`the container does not run node: ${argv.join(' ')}`);
  return argv.slice(1);
}
