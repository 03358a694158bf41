/** @module Interface capsule:sandbox/host@0.1.0 **/
/**
 * One file-system operation, checked by the host against allowedFiles. `args` is JSON in UTF-8 bytes (see
 * `run` for why bytes). Returns JSON: {"ok": value} or {"error": {code, message}}.
 */
export function fsCall(op: string, args: Uint8Array): string;
/**
 * Records a denial the guest noticed itself (a module that is not available, an unlisted variable), so it lands in the envelope.
 */
export function noteDenial(capability: string, target: string, reason: string): void;
/**
 * The run's context as JSON (workflow, step, attempt, idempotency key), or "null" while the task options are read.
 * Asked for only when the task calls context(): values that differ from run to run never reach a task that does
 * not, so the same input keeps costing the same fuel.
 */
export function context(): string;
