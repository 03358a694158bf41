/**
 * The `secrets` task option: `{ OPENAI_API_KEY: ["api.openai.com"] }` names a host secret and the hosts its value
 * may be sent to (in request headers, by the egress; the guest only ever holds a placeholder). Validated with the
 * other options; narrowed, never widened, by a pipeline step (an error if it tries) and by a sub-task's caller
 * (silently cut, and the cut recorded).
 */
import { z } from 'zod';
import { coversPattern, formatPattern, intersectPatterns, parseHostPattern, type HostPattern } from './host-pattern.js';

/** Secret name -> host patterns (normalised), in declaration order. */
export type SecretGrants = Record<string, string[]>;

export const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
export const ENV_NAME_EXPECTED = 'expected an environment variable name such as "API_KEY"';

/** A host pattern, normalised ("API.example.com." -> "api.example.com"); the same grammar as allowedHosts. */
export const hostPatternSchema = z.string().transform((text, ctx) => {
  const parsed = parseHostPattern(text);
  if (parsed.ok) return formatPattern(parsed.value);
  ctx.addIssue({ code: 'custom', message: `got ${JSON.stringify(text)}; expected ${parsed.expected}` });
  return z.NEVER;
});

export const secretsSchema = z
  .record(z.string(), z.array(hostPatternSchema, `expected a list of hosts such as ["api.example.com"]`).min(1, 'expected at least one host the secret may be sent to'), 'expected an object such as { API_KEY: ["api.example.com"] }')
  .superRefine((value, ctx) => {
    // Checked here rather than on the record's key: zod would only say "Invalid key in record".
    for (const name of Object.keys(value)) {
      if (!ENV_NAME.test(name)) ctx.addIssue({ code: 'custom', path: [name], message: ENV_NAME_EXPECTED });
    }
    if (Object.keys(value).length > 64) ctx.addIssue({ code: 'custom', message: 'at most 64 secrets' });
  });

function pattern(text: string): HostPattern {
  const parsed = parseHostPattern(text);
  if (!parsed.ok) throw new Error(`host pattern "${text}" was not validated: ${parsed.expected}`);
  return parsed.value;
}

/**
 * Why a grant cannot be used as declared; undefined when it can. Checked against the task's own options (`spelled`:
 * how the task file names them).
 */
export function secretsProblem(
  secrets: SecretGrants,
  allowedHosts: readonly string[],
  envVariables: readonly string[],
  spelled = { allowedHosts: 'allowedHosts', envVariables: 'envVariables' },
): { secret: string; detail: string } | undefined {
  const allowed = allowedHosts.map(pattern);
  for (const [name, hosts] of Object.entries(secrets)) {
    if (envVariables.includes(name)) {
      return { secret: name, detail: `"${name}" is also in ${spelled.envVariables}, which would copy its value into the guest: a secret reaches the task only as a placeholder, so list it in secrets alone` };
    }
    for (const host of hosts) {
      if (!allowed.some((outer) => coversPattern(outer, pattern(host)))) {
        return { secret: name, detail: `host "${host}" is not covered by ${spelled.allowedHosts} (${allowedHosts.join(', ') || 'none'}): add it there too` };
      }
    }
  }
  return undefined;
}

/**
 * A pipeline step's `secrets`: a subset of the task's, each with a subset of its hosts. Returns the narrowed grants,
 * or what would widen them.
 */
export function narrowSecretsForStep(declared: SecretGrants, step: SecretGrants): { ok: true; secrets: SecretGrants } | { ok: false; secret: string; detail: string } {
  const narrowed: SecretGrants = {};
  for (const [name, hosts] of Object.entries(step)) {
    const own = declared[name];
    if (own === undefined) {
      return { ok: false, secret: name, detail: `the task does not declare this secret (it declares: ${Object.keys(declared).join(', ') || 'none'}); a step can only narrow secrets` };
    }
    for (const host of hosts) {
      if (!own.some((outer) => coversPattern(pattern(outer), pattern(host)))) {
        return { ok: false, secret: name, detail: `host "${host}" is not among the task's hosts for it (${own.join(', ')}); a step can only narrow secrets` };
      }
    }
    narrowed[name] = hosts;
  }
  return { ok: true, secrets: narrowed };
}

/**
 * What a sub-task may hold: its own declaration cut down to its caller's secrets, names and hosts (the hosts both
 * match). Shaped as a narrower of one option, (declared, caller) -> granted, like the other options' narrowing.
 */
export function narrowSecrets(declared: SecretGrants, caller: SecretGrants): SecretGrants {
  const granted: SecretGrants = {};
  for (const [name, hosts] of Object.entries(declared)) {
    const bound = caller[name] ?? [];
    const kept = [...new Set(hosts.flatMap((host) => bound.flatMap((outer) => {
      const shared = intersectPatterns(pattern(outer), pattern(host));
      return shared ? [formatPattern(shared)] : [];
    })))];
    if (kept.length > 0) granted[name] = kept;
  }
  return granted;
}
