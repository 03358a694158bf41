/**
 * Size limits on what a sandbox thread sends the pool. The thread applies them (it shortens or refuses) and the
 * pool's schema (protocol.ts) checks them again; they live apart from that schema so the thread script does not
 * load zod.
 */

/**
 * The most a result may hold: a larger one is refused in the thread with a clear message. Above the largest value a
 * pipeline step may return (64 MiB, workflows/shared.ts), so a step's result between the two reaches the activity,
 * which refuses it once, non-retryably, naming the step and the size.
 */
export const MAX_RESULT_CHARS = 128 * 1024 * 1024;
/** A guest's failure (message and stack, as the runner's JSON) larger than this is replaced by a short one. */
export const MAX_FAILURE_CHARS = 1024 * 1024;
/** Paths, URLs and reasons in requests and denials are shortened to this. */
export const MAX_LISTED_CHARS = 2048;

/** `text` cut to `max` characters, saying how much was left out. */
export function shorten(text: string, max: number): string {
  if (text.length <= max) return text;
  const note = `… (${text.length - max} more characters)`;
  return text.slice(0, Math.max(0, max - note.length)) + note;
}

/** An event with its listed strings (a request's method and URL, a denial's target and reason) shortened. */
export function shortenListed<E extends { kind: string }>(event: E): E {
  const e = event as E & { request?: { method: string; url: string }; denial?: { target: string; reason: string } };
  if (e.kind === 'request' && e.request) return { ...e, request: { ...e.request, method: shorten(e.request.method, MAX_LISTED_CHARS), url: shorten(e.request.url, MAX_LISTED_CHARS) } };
  if (e.kind === 'denial' && e.denial) return { ...e, denial: { ...e.denial, target: shorten(e.denial.target, MAX_LISTED_CHARS), reason: shorten(e.denial.reason, MAX_LISTED_CHARS) } };
  return event;
}
