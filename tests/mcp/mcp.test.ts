// Runs the MCP server's pytest suite (real server process, real SDK client, real PostgreSQL); pytest's summary line is the result.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startPostgres } from '../lib/postgres.ts';
import { ensureMcpVenv } from './venv.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

function runPytest(python: string, databaseUrl: string): Promise<number> {
  return new Promise((resolve, reject) => {
    // Default verbosity, not -q: only then does pytest frame its summary as "==== N passed in Xs ====",
    // the form the runner reads. --color=no because the runner's FORCE_COLOR=0 reads as "force" to pytest.
    const child = spawn(python, ['-m', 'pytest', 'app/mcp/tests', '--color=no'], {
      cwd: root,
      // Inherited, so the runner sees pytest's "N passed" line as it is printed.
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, DATABASE_URL: databaseUrl, PYTHONDONTWRITEBYTECODE: '1' },
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

async function main(): Promise<number> {
  let started = Date.now();
  const python = await ensureMcpVenv();
  console.log(`mcp venv ready (${((Date.now() - started) / 1000).toFixed(1)}s)`);
  started = Date.now();
  const pg = await startPostgres();
  console.log(`postgres up on 127.0.0.1:${pg.port} (${((Date.now() - started) / 1000).toFixed(1)}s)`);
  try {
    const code = await runPytest(python, pg.url);
    // Exit 5 means pytest collected nothing: a suite that vanished must not pass.
    if (code === 5) console.error('pytest collected no tests');
    return code;
  } finally {
    await pg.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
