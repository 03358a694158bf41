/** Thrown when a pipeline file or its input is invalid; names the file and the field. Nothing has been started. */
export class PipelineError extends Error {
  override readonly name = 'PipelineError';
  constructor(
    readonly file: string,
    readonly field: string | undefined,
    readonly detail: string,
  ) {
    super(field === undefined ? `${file}: ${detail}` : `${file}: ${field}: ${detail}`);
  }
}
