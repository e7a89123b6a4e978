// How a benchmark file ends: its main runs, then the process exits 0 (a stopped server may still
// hold a handle open), or prints the error and exits 1, which bench/run.ts counts as failed.
export function runMain(main: () => Promise<void>): void {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
