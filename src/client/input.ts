/** A command's JSON input text and where it came from, parsed once; an error names the source. */
import { PipelineError } from '../pipeline/errors.js';
import { jsonValueProblem } from '../sandbox/bounded-json.js';

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
  checkInputValue(value, input.source);
  return value;
}

/** An input given as a value (an MCP client's): it must be a value tasks can receive. */
export function checkInputValue(value: unknown, source: string): void {
  const problem = jsonValueProblem(value);
  if (problem) throw new PipelineError(source, undefined, `cannot be passed to tasks: ${problem}`);
}
