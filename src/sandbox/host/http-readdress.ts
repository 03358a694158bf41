/**
 * The thread's half of the egress: guest requests are re-addressed to a loopback endpoint on the main thread, and
 * the egress's own answers (a refusal, a DNS failure, a body over the cap) come back as the `wasi:http` error codes
 * a guest's HTTP client understands, never as responses. The guest's request class accepts any authority the URL
 * standard does (IPv6 literals, IDNA names): the egress parses and checks it, the shim's narrower check would
 * refuse "[::1]:8080" before anything was decided.
 */
import * as shim from '@bytecodealliance/preview2-shim';
import { EGRESS_ERROR_HEADER, EGRESS_MESSAGE_HEADER, type FailureKind } from '../egress/protocol.js';

export interface OutgoingRequestLike {
  method(): { tag: string; val?: string };
  scheme(): { tag: string; val?: string } | undefined;
  authority(): string | undefined;
  pathWithQuery(): string | undefined;
  setScheme(scheme: { tag: string }): void;
  setPathWithQuery(path: string): void;
}

interface FieldsLike {
  get(name: string): Uint8Array[];
}
interface IncomingResponseLike {
  headers(): FieldsLike;
  consume(): { stream(): { [Symbol.dispose]?: () => void } };
}
export type ErrorCode = { tag: string; val?: unknown };
export type ResponseResult = { tag: 'ok'; val: { tag: 'ok'; val: IncomingResponseLike } | { tag: 'err'; val: ErrorCode } } | { tag: 'err'; val: unknown };


type ShimRequestClass = new (headers: unknown) => OutgoingRequestLike & { setAuthority(authority: string | undefined): void };
const ShimOutgoingRequest = (shim.http.types as unknown as { OutgoingRequest: ShimRequestClass }).OutgoingRequest;
const setShimAuthority = ShimOutgoingRequest.prototype.setAuthority;

/** At most what an authority can be (RFC 3986 host and port); the egress does the real parsing. */
const AUTHORITY = /^[^\s/?#\\@]{1,1024}$/u;

class GuestOutgoingRequest extends ShimOutgoingRequest {
  #authority: string | undefined;
  override authority(): string | undefined {
    return this.#authority;
  }
  override setAuthority(authority: string | undefined): void {
    // `throw undefined` is how the shim signals the WIT result's error case to the glue.
    if (authority !== undefined && !AUTHORITY.test(authority)) throw undefined;
    this.#authority = authority;
  }
}

export const guestHttpTypes = { ...(shim.http.types as object), OutgoingRequest: GuestOutgoingRequest };

/** Points a guest's request at one of the main thread's loopback endpoints. */
export function readdress(request: OutgoingRequestLike, authority: string, pathWithQuery: string): void {
  request.setScheme({ tag: 'HTTP' });
  setShimAuthority.call(request, authority);
  request.setPathWithQuery(pathWithQuery);
}

function header(fields: FieldsLike, name: string): string | undefined {
  const values = fields.get(name);
  return values.length === 0 ? undefined : new TextDecoder().decode(values[0]);
}

function errorCode(kind: FailureKind, message: string): ErrorCode {
  switch (kind) {
    case 'denied': return { tag: 'HTTP-request-denied' };
    case 'dns': return { tag: 'DNS-error', val: { rcode: 'ENOTFOUND', infoCode: undefined } };
    case 'connection-refused': return { tag: 'connection-refused' };
    case 'connection-timeout': return { tag: 'connection-timeout' };
    case 'timeout': return { tag: 'HTTP-response-timeout' };
    case 'tls-certificate': return { tag: 'TLS-certificate-error' };
    case 'request-too-large': return { tag: 'HTTP-request-body-size', val: undefined };
    case 'response-too-large': return { tag: 'HTTP-response-body-size', val: undefined };
    default: return { tag: 'internal-error', val: message };
  }
}

/** A response the egress marked as its own failure becomes that failure's error code; others pass unchanged. */
export function egressErrorCode(result: ResponseResult | undefined): ResponseResult | undefined {
  if (result?.tag !== 'ok' || result.val.tag !== 'ok') return result;
  const response = result.val.val;
  const fields = response.headers();
  const kind = header(fields, EGRESS_ERROR_HEADER);
  if (kind === undefined) return result;
  let message = '';
  try {
    message = decodeURIComponent(header(fields, EGRESS_MESSAGE_HEADER) ?? '');
  } catch {
    message = kind;
  }
  // The guest never sees this response: release its body stream in the shim's I/O worker now.
  response.consume().stream()[Symbol.dispose]?.();
  return { tag: 'ok', val: { tag: 'err', val: errorCode(kind as FailureKind, message) } };
}
