// scripts/port-forward.ts with its state (.cache/port-forward.pid, the log) under the scratch root the
// tests name in PORT_FORWARD_TEST_ROOT, so a test never touches a port-forward the developer runs.
import { runMain } from '../../scripts/lib/core/cli.ts';
import { portForwardMain } from '../../scripts/port-forward.ts';

const root = process.env.PORT_FORWARD_TEST_ROOT;
if (!root) throw new Error('PORT_FORWARD_TEST_ROOT is not set');
runMain(() => portForwardMain(process.argv.slice(2), root), { interruptMessage: '■ port-forward stopped' });
