/**
 * A finished stage whose run key differs from the one asked for: its numbers came from another method,
 * variant, spec, recipe, profile, seed, hooks or pruner version and must never reach a table.
 */
export class StaleStageError extends Error {
  constructor(
    readonly dir: string,
    readonly field: string,
  ) {
    super(
      `${dir} holds a finished stage produced with a different ${field}; its numbers do not belong to this run. ` +
        'Rerun with --fresh to train that stage again (and the stages after it), or choose another --run-dir',
    );
    this.name = 'StaleStageError';
  }
}
