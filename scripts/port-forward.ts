#!/usr/bin/env -S npx tsx
// Entry point of `port-forward`: flags → runPortForward → exit code.
import { projectRoot, runMain } from './lib/cli.ts';
import { portForwardMain } from './lib/port-forward.ts';

runMain(() => portForwardMain(process.argv.slice(2), projectRoot));
