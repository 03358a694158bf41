/**
 * What the egress (main thread) and a sandbox thread's HTTP import agree on: the path a guest request is
 * re-addressed to, and how the egress says that it, not the upstream, answered. Pure constants and types: safe in
 * both worlds.
 */

/** Why a request failed before or while its response arrived; the thread turns it into a wasi:http error code. */
export type FailureKind =
  | 'denied'
  | 'dns'
  | 'connection-refused'
  | 'connection-timeout'
  | 'timeout'
  | 'tls-certificate'
  | 'request-too-large'
  | 'response-too-large'
  | 'too-many-redirects'
  | 'failed';

/** Set only by the egress on its own answers (it strips both from upstream responses). */
export const EGRESS_ERROR_HEADER = 'capsule-egress-error';
export const EGRESS_MESSAGE_HEADER = 'capsule-egress-message';

/** `/egress/<token>/<encoded scheme://authority><path?query>` */
export function egressPath(token: string, scheme: string, authority: string, pathWithQuery: string): string {
  return `/egress/${token}/${encodeURIComponent(`${scheme}://${authority}`)}${pathWithQuery}`;
}
export const EGRESS_PATH = /^\/egress\/([0-9a-f]{48})\/([^/]*)(\/.*)?$/;
