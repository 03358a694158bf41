/** Failures of the worker's observability settings (metrics, health, traces): user-fixable, with a stable name. */
import { CapsuleError } from '../errors.js';

/** A `--metrics`/`--health`/`--otlp-endpoint` flag or an OTEL_ or CAPSULE_ variable has a bad value; the message names it. */
export class ObservabilityConfigError extends CapsuleError {
  override readonly name = 'ObservabilityConfigError';
}
