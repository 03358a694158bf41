/**
 * Sub-tasks only narrow. A task called from inside another runs with its own declaration cut down to what its
 * caller has, option by option: at most the caller's fuel, memory, time and response size, files (as host
 * directories, with the narrower mode), hosts, environment variables and secrets (names and hosts). Whatever the child's declaration says, calling a task never
 * gains a capability or a budget. Each cut is listed in the child's envelope (`execution.narrowed`), so the record
 * says what the child asked for and what it got.
 *
 * One narrower per option: a new capability (secrets, say) narrows by adding its entry to NARROWERS.
 */
import { formatPattern, intersectPatterns, parseHostPattern } from '../config/host-pattern.js';
import { narrowSecrets } from '../config/secrets.js';
import { parseRelativePath } from '../config/guest-path.js';
import { declaredFile, type AllowedFile, type grantCeiling, type ResolvedTaskOptions } from '../config/task-options.js';
import type { NarrowedOption } from './envelope.js';
import { narrower, within } from './policy/file-policy.js';

type Narrowable = Exclude<keyof ResolvedTaskOptions, 'name' | 'maxRetries'>;
type Narrower<K extends Narrowable> = (declared: ResolvedTaskOptions[K], caller: ResolvedTaskOptions[K]) => ResolvedTaskOptions[K];

const NARROWERS: { [K in Narrowable]: Narrower<K> } = {
  compute: Math.min,
  ram: Math.min,
  timeout: Math.min,
  allowedFiles: narrowFiles,
  allowedHosts: narrowHosts,
  envVariables: (declared, caller) => declared.filter((name) => caller.includes(name)),
  secrets: narrowSecrets,
  maxResponseSize: Math.min,
};

/**
 * Options a caller resolved (a pipeline step's, carried in workflow input from the client) held against the most
 * its task may be granted (config/task-options.ts: grantCeiling — what the file declares, else the project's
 * defaults): the names of the grants they would widen. Budgets a step may set for itself.
 */
export function widenedGrants(carried: ResolvedTaskOptions, ceiling: ReturnType<typeof grantCeiling>): string[] {
  const allowedFiles = ceiling.allowedFiles.map(declaredFile).flatMap((file) => {
    const parsed = parseRelativePath(file.path);
    return parsed.ok ? [{ path: parsed.path, mode: file.mode }] : [];
  });
  return narrowToCaller(carried, { ...carried, ...ceiling, allowedFiles }).narrowed.map((cut) => cut.option);
}

export function narrowToCaller(declared: ResolvedTaskOptions, caller: ResolvedTaskOptions): { options: ResolvedTaskOptions; narrowed: NarrowedOption[] } {
  const options = { ...declared };
  const narrowed: NarrowedOption[] = [];
  for (const key of Object.keys(NARROWERS) as Narrowable[]) {
    const granted = (NARROWERS[key] as Narrower<typeof key>)(declared[key], caller[key]);
    if (JSON.stringify(granted) !== JSON.stringify(declared[key])) {
      narrowed.push({ option: key, declared: recorded(declared[key]), granted: recorded(granted) });
    }
    (options as Record<Narrowable, unknown>)[key] = granted;
  }
  return { options, narrowed };
}

/** Files are recorded as the guest sees them: guest path and mode, never a host directory. */
function recorded(value: unknown): unknown {
  if (!Array.isArray(value)) return value;
  return value.map((item: unknown) => (typeof item === 'object' && item !== null && 'mode' in item ? { path: (item as AllowedFile).path, mode: (item as AllowedFile).mode } : item));
}

const hostOf = (file: AllowedFile) => file.hostPath ?? file.path;

/**
 * The host directories both the child and its caller may use, under the child's guest names, with the narrower
 * mode. A child directory inside a caller's keeps its own path; a caller's directory inside the child's is what the
 * child gets of it.
 */
function narrowFiles(declared: AllowedFile[], caller: AllowedFile[]): AllowedFile[] {
  const granted: AllowedFile[] = [];
  const add = (file: AllowedFile) => {
    if (!granted.some((g) => g.path === file.path)) granted.push(file);
  };
  for (const file of declared) {
    const host = hostOf(file);
    const covering = caller.filter((c) => within(host, hostOf(c)));
    if (covering.length > 0) {
      add({ ...file, mode: covering.reduce((mode, c) => narrower(mode, c.mode), file.mode) });
      continue;
    }
    for (const inner of caller.filter((c) => within(hostOf(c), host))) {
      const below = host === '.' ? hostOf(inner) : hostOf(inner).slice(host.length + 1);
      const guest = file.path === '.' ? below : `${file.path}/${below}`;
      add({ path: guest, mode: narrower(file.mode, inner.mode), ...(guest === hostOf(inner) ? {} : { hostPath: hostOf(inner) }) });
    }
  }
  return granted;
}

/** The hosts both allowlists match, each as one pattern (patterns were validated with the options). */
function narrowHosts(declared: string[], caller: string[]): string[] {
  const parse = (text: string) => {
    const parsed = parseHostPattern(text);
    return parsed.ok ? [parsed.value] : [];
  };
  const callers = caller.flatMap(parse);
  const granted = new Set<string>();
  for (const pattern of declared.flatMap(parse)) {
    for (const other of callers) {
      const both = intersectPatterns(pattern, other);
      if (both) granted.add(formatPattern(both));
    }
  }
  return [...granted];
}
