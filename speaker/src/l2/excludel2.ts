// MetalLB's interface exclusion ConfigMap: `metallb-excludel2` in the speaker's namespace, data key
// `excludel2.yaml`, `announcedInterfacesToExclude: [regex, ...]`. MetalLB's speaker reads it once
// from a mounted file; l2lb watches it and applies a change at once. Pure: the process edge hands
// in the ConfigMap's data and keeps the last good list when a new one is refused.
import { ConfigError, parseYamlValue } from '@l2lb/shared';
import { errorText } from '@l2lb/shared/log';
import { DEFAULT_EXCLUDE } from './interfaces.js';

export const EXCLUDE_L2_CONFIGMAP = 'metallb-excludel2';
export const EXCLUDE_L2_KEY = 'excludel2.yaml';
const FIELD = 'announcedInterfacesToExclude';
/** Interface names are at most 15 bytes; a pattern far longer than that is a paste accident. */
const MAX_PATTERN_LENGTH = 1024;

export type ExcludeL2 =
  | {
      readonly ok: true;
      readonly exclude: readonly RegExp[];
      /** 'default': the ConfigMap or its key is absent, l2lb's built-in list (MetalLB's default) applies. */
      readonly source: 'configmap' | 'default';
      /** The patterns as written, for logs. */
      readonly patterns: readonly string[];
    }
  | { readonly ok: false; readonly error: string };

/**
 * Reads the ConfigMap's `data` (undefined: the ConfigMap does not exist). As in MetalLB, the regexes
 * are searched anywhere in the interface name (anchor them with ^ and $), and a document whose list
 * is empty or missing excludes nothing. `object` names the ConfigMap in errors.
 */
export function parseExcludeL2(data: unknown, object: string): ExcludeL2 {
  const text = typeof data === 'object' && data !== null && !Array.isArray(data) ? (data as Record<string, unknown>)[EXCLUDE_L2_KEY] : undefined;
  if (text === undefined) {
    return { ok: true, exclude: DEFAULT_EXCLUDE, source: 'default', patterns: DEFAULT_EXCLUDE.map((r) => r.source) };
  }
  const where = `${object} data.${EXCLUDE_L2_KEY}`;
  if (typeof text !== 'string') return { ok: false, error: `${where}: must be text` };
  let doc: unknown;
  try {
    doc = text.trim() === '' ? {} : parseYamlValue(text, where);
  } catch (e) {
    if (e instanceof ConfigError) return { ok: false, error: e.message };
    throw e;
  }
  if (doc === null || doc === undefined) doc = {};
  if (typeof doc !== 'object' || Array.isArray(doc)) return { ok: false, error: `${where}: must be a mapping with ${FIELD}` };
  const list = (doc as Record<string, unknown>)[FIELD];
  if (list === undefined || list === null) return { ok: true, exclude: [], source: 'configmap', patterns: [] };
  if (!Array.isArray(list)) return { ok: false, error: `${where}: ${FIELD} must be a list of regular expressions` };
  const exclude: RegExp[] = [];
  const patterns: string[] = [];
  for (const [i, pattern] of list.entries()) {
    const at = `${where}: ${FIELD}[${i}]`;
    if (typeof pattern !== 'string') return { ok: false, error: `${at} must be a string (a regular expression)` };
    if (pattern.length > MAX_PATTERN_LENGTH) return { ok: false, error: `${at} is ${pattern.length} characters; the limit is ${MAX_PATTERN_LENGTH}` };
    try {
      exclude.push(new RegExp(pattern));
    } catch (e) {
      return { ok: false, error: `${at} ${JSON.stringify(pattern)} is not a valid regular expression: ${errorText(e)}` };
    }
    patterns.push(pattern);
  }
  return { ok: true, exclude, source: 'configmap', patterns };
}
