#!/usr/bin/env -S npx tsx
// Entry point of `render`: flags → session → runRender → exit code.
import { parseFlags, projectRoot, runMain } from './lib/core/cli.ts';
import { ExitCode, InputError } from './lib/core/errors.ts';
import { flagsHelp, pickFlags, settingFlagNames, settingOverrides } from './lib/core/flags.ts';
import { runRender } from './lib/render/manifests.ts';
import { openSession } from './lib/core/session.ts';
import { Ui } from './lib/core/ui.ts';

const HELP = `Usage: render [options]

Prints the manifests setup would install, computed from the app declaration (env/app.yaml) and
the settings (env/.env, TASKFLOW_* variables, flags), with no side effects: no cluster is read
or needed, no image is built, env/.env is not written. The values are exactly what setup gives
helm upgrade --install (values-<profile>.yaml, then the generated values on stdin: the image
tags setup would build from the current sources, the access URLs, the secrets), rendered by
helm template. Not included: the replica counts and HPA switch a live release got from
\`scale\`, which setup keeps and render does not read, and the chart's helm test pod.

Secrets are never printed: a Secret shows its keys with each value masked (********), and a
secret value found in any other object is masked too, with a warning. The manifests go to
stdout, notes to stderr.

Options:
${flagsHelp(settingFlagNames)}
                     (--context is accepted for symmetry; render reads no cluster)
  --out DIR          write each object to DIR/<kind>-<name>.yaml instead (for Argo CD, Flux
                     or kubectl apply -f DIR). DIR is created when missing; a DIR an earlier
                     render wrote loses the files of objects that no longer exist (the list is
                     DIR/.taskflow-render; files of yours there stay); a non-empty DIR render
                     did not write is refused. The Secret is not written (its values are
                     masked): create it yourself, or let setup install it. The objects name
                     no namespace, as helm template prints them: kubectl -n <ns> apply -f DIR
${flagsHelp(['verbose', 'help'], { verbose: 'print the helm commands run, with the values (secrets masked)' })}

Exit codes: 0 rendered, 1 helm template failed, 2 bad flags or configuration (nothing
started), 3 helm missing or too old.`;

const FLAGS = { ...pickFlags(...settingFlagNames, 'verbose', 'help'), out: { type: 'string' } } as const;

async function main(argv: string[]): Promise<number> {
  const { values: f } = parseFlags(argv, FLAGS, 'render');
  if (f.help) {
    console.log(HELP);
    return ExitCode.ok;
  }
  if (f.out === '') throw new InputError('--out needs a directory', 'Give e.g. --out manifests');
  // Stdout carries the manifests; every line about them goes to stderr.
  const ui = new Ui({ json: false, out: (line) => process.stderr.write(`${line}\n`) });
  const sn = await openSession({ root: projectRoot, flags: settingOverrides(f), verbose: f.verbose, ui });
  return runRender(sn, { out: f.out });
}

runMain(() => main(process.argv.slice(2)));
