import { CapsuleError } from '../errors.js';

/** Thrown when a pipeline file or its input is invalid; names the file and the field. Nothing has been started. */
export class PipelineError extends CapsuleError {
  override readonly name = 'PipelineError';
  constructor(
    readonly file: string,
    readonly field: string | undefined,
    readonly detail: string,
  ) {
    super(field === undefined ? `${file}: ${detail}` : `${file}: ${field}: ${detail}`);
  }
}
