#!/usr/bin/env -S npx tsx
// Entry point of `port-forward`: flags → runPortForward → exit code.
import { projectRoot, runMain } from './lib/cli.ts';
import { portForwardMain } from './lib/port-forward.ts';

// Ctrl+C is how a foreground port-forward is meant to end; its exit hook stops every kubectl.
runMain(() => portForwardMain(process.argv.slice(2), projectRoot), { interruptMessage: '■ port-forward stopped' });
