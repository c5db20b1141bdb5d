/** One thing wrong with a configuration, located precisely enough to fix it. */
export interface ConfigProblem {
  /** The object, e.g. `address pool #2 "web"`, `IPAddressPool "web"`, `config`. */
  readonly object: string;
  /** Path of the offending field inside the object, e.g. `addresses[1]`; absent for the object itself. */
  readonly field?: string;
  /** Plain-words explanation that quotes the offending value. */
  readonly message: string;
}

export function formatProblem(problem: ConfigProblem): string {
  return problem.field === undefined ? `${problem.object}: ${problem.message}` : `${problem.object}: ${problem.field}: ${problem.message}`;
}

/** The only error configuration parsing ever throws. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[]) {
    super(
      problems.length === 1 && problems[0] !== undefined
        ? formatProblem(problems[0])
        : `${problems.length} configuration problems:\n${problems.map((p) => `  - ${formatProblem(p)}`).join('\n')}`,
    );
    this.problems = Object.freeze([...problems]);
  }
}

/** Collects problems while validating so one run reports all of them, not just the first. */
export class ProblemList {
  readonly items: ConfigProblem[] = [];
  /** Accepted as MetalLB accepts it, but worth telling: a normalised CIDR, an ignored field or object. */
  readonly warnings: ConfigProblem[] = [];

  add(object: string, field: string | undefined, message: string): void {
    this.items.push(field === undefined ? { object, message } : { object, field, message });
  }

  warn(object: string, field: string | undefined, message: string): void {
    this.warnings.push(field === undefined ? { object, message } : { object, field, message });
  }

  get empty(): boolean {
    return this.items.length === 0;
  }
}

/** Renders a value for an error message: strings quoted, everything else as compact JSON. */
export function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 120 ? `${value.slice(0, 117)}...` : value);
  if (value === null) return 'null';
  if (value === undefined) return 'nothing';
  try {
    const json = JSON.stringify(value);
    if (json === undefined) return String(value);
    return json.length > 120 ? `${json.slice(0, 117)}...` : json;
  } catch {
    return String(value);
  }
}

export function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  switch (typeof value) {
    case 'string':
      return `the string ${show(value)}`;
    case 'number':
      return `the number ${String(value)}`;
    case 'boolean':
      return `the boolean ${String(value)}`;
    case 'object':
      return 'a mapping';
    default:
      return typeof value;
  }
}
