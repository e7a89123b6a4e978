// Provides the MCP server's Python venv (cached under .cache/venv-mcp), built like the backend's.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureVenv } from '../lib/venv.ts';

const mcpDir = join(fileURLToPath(new URL('../..', import.meta.url)), 'app', 'mcp');

/** Creates (or reuses) .cache/venv-mcp with app/mcp/requirements-dev.txt installed; returns its python. */
export const ensureMcpVenv = (): Promise<string> => ensureVenv('mcp', mcpDir);
