/**
 * Errors a user can act on. A header problem always names `file:line:col`, so
 * editors and CI logs can jump to it; the CLI maps these to exit code 2.
 */
export class HeaderError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly column: number,
    readonly detail: string,
  ) {
    super(`${file}:${line}:${column}: ${detail}`);
    this.name = "HeaderError";
  }
}

/** Bad input that is not a header: a schema file, a registry entry, a CLI argument. */
export class InputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InputError";
  }
}
