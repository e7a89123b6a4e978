// Where the project is. Modules find the chart and the app from here, never from their own
// location: the commands may run from one bundled file (see scripts/run.mjs), whose location is
// not theirs. This file's location is the one thing that must hold in both: two levels below the
// project root (scripts/lib/ in the sources, .cache/commands/ for the bundles).
import { fileURLToPath } from 'node:url';

/** The project root, with a trailing separator. */
export const projectRoot = fileURLToPath(new URL('../../', import.meta.url));
