// Runs the backend's pytest suite against a throwaway PostgreSQL; pytest's summary line is the result.
import { ensureBackendVenv } from '../lib/backend.ts';
import { exitWith, runPytestSuite } from '../lib/venv.ts';

exitWith(runPytestSuite('backend', ensureBackendVenv, 'app/backend/tests'));
