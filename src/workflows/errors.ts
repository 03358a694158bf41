/**
 * Errors of workflow code's own helpers (deterministic: no Node built-ins). Failures a workflow reports to Temporal
 * are ApplicationFailures whose types are named in the contract (shared.ts, FAILURE_TYPES).
 */
import { CapsuleError } from '../errors.js';

/** A pipeline template ("{{ steps.a.output }}") is not a reference Capsule knows; says what is expected. */
export class TemplateError extends CapsuleError {
  override readonly name = 'TemplateError';
}
