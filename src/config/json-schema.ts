/**
 * The JSON Schema an llm step's parsed reply must satisfy (`llm.schema`), compiled with ajv: checked when the
 * pipeline compiles (a schema ajv cannot compile is refused, naming the step) and applied by the callLlm activity.
 */
import { Ajv, type ValidateFunction } from 'ajv';

export function compileSchema(schema: Record<string, unknown>): ValidateFunction {
  return new Ajv({ allErrors: false, strict: false }).compile(schema);
}

/** Why `schema` is not a usable JSON Schema, or undefined when it is. */
export function jsonSchemaProblem(schema: Record<string, unknown>): string | undefined {
  try {
    compileSchema(schema);
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}
