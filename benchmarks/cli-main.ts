// What every benchmark script does around its work: progress lines on
// stderr under its own tag (stdout carries the results), and its main's
// verdict as the exit code, a thrown error printed whole and exit code 1.

/** A progress printer for stderr, each line tagged `[tag]`. */
export function progressTo(tag: string): (message: string) => void {
  return (message) => {
    process.stderr.write(`[${tag}] ${message}\n`);
  };
}

/** Runs `main` and sets the exit code it answers; an error goes to `progress` with its stack and exits 1. */
export function runMain(main: () => Promise<number>, progress: (message: string) => void): void {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (err: Error) => {
      progress(err.stack ?? err.message);
      process.exitCode = 1;
    },
  );
}
