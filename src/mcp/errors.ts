/** Failures of the MCP server: its own settings, and a tool call it cannot do. */
import { CapsuleError } from '../errors.js';
import type { ErrorType } from '../sandbox/index.js';

/** A `capsule mcp` flag or capsule.toml [mcp] key has a bad value; names the flag or the key. */
export class McpSettingsError extends CapsuleError {
  override readonly name = 'McpSettingsError';
}

/** A tool call that cannot be done, with the error type its result carries (thrown by the services, caught by the tools). */
export class ToolError extends CapsuleError {
  override readonly name = 'ToolError';
  constructor(readonly errorType: ErrorType, message: string) {
    super(message);
  }
}
