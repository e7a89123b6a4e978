// Runs the MCP server's pytest suite (real server process, real SDK client, real PostgreSQL); pytest's summary line is the result.
import { exitWith, runPytestSuite } from '../lib/venv.ts';
import { ensureMcpVenv } from './venv.ts';

exitWith(runPytestSuite('mcp', ensureMcpVenv, 'app/mcp/tests'));
