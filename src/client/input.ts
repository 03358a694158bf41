/** A command's JSON input text and where it came from, parsed once; an error names the source. */
import { PipelineError } from '../pipeline/errors.js';
import { jsonValueProblem } from '../sandbox/index.js';

export interface InputText {
  text: string;
  /** Where the text came from, for messages: "--input", "--input - (standard input)", "--input-file data.json". */
  source: string;
}

/** Parses the input's JSON; throws a PipelineError naming its source. */
export function parseInput(input: InputText): unknown {
  let value: unknown;
  try {
    value = JSON.parse(input.text);
  } catch (error) {
    throw new PipelineError(input.source, undefined, `not valid JSON (${error instanceof Error ? error.message : String(error)}); expected e.g. --input '{"topic":"wasm"}'`);
  }
  const problem = jsonValueProblem(value);
  if (problem) throw new PipelineError(input.source, undefined, `cannot be passed to tasks: ${problem}`);
  return value;
}
