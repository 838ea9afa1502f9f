/** A spec that does not describe a network we can build; `problems` lists every reason. */
export class SpecError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid architecture spec:\n  - ${problems.join('\n  - ')}`);
    this.name = 'SpecError';
  }
}

/** A file of a run directory (result.json, a checkpoint's state.json or optimizer.bin) that is unusable. */
export class RunDirError extends Error {
  constructor(readonly file: string, problem: string) {
    super(`${file}: ${problem}`);
    this.name = 'RunDirError';
  }
}

/**
 * A run directory holding a finished stage, a result or a checkpoint of another run (`field`: the first field of the
 * run key that differs): its numbers came from another method, variant, spec, recipe, profile, seed, hooks or pruner
 * version and must never reach a table.
 */
export class StaleStageError extends Error {
  constructor(readonly dir: string, readonly field: string, what: 'finished stage' | 'checkpoint' | 'result') {
    super(`${dir} holds a ${what} produced with a different ${field}; its numbers do not belong to this run. ` +
      'Rerun with --fresh to train that stage again (and the stages after it), or choose another --run-dir');
    this.name = 'StaleStageError';
  }
}

/**
 * A stage that another process is training the same way now (training-claim.ts), where the run was told not to wait
 * for it (`--if-training-elsewhere exit`): the method CLIs exit with TRAINING_ELSEWHERE_EXIT_CODE, to be run again
 * once that process has finished (then the stage is copied).
 */
export class TrainingElsewhereError extends Error {
  constructor(readonly label: string, readonly holder: { pid: number; dir: string }) {
    super(`${label}: process ${holder.pid} is training the same now (${holder.dir}); stopped so as to run again once ` +
      'it has finished (--if-training-elsewhere exit)');
    this.name = 'TrainingElsewhereError';
  }
}

/** The exit code of a run stopped by a TrainingElsewhereError (EX_TEMPFAIL: try again later). */
export const TRAINING_ELSEWHERE_EXIT_CODE = 75;

/** A training hook (extra gradient or mask) that names a weight the model does not train. */
export class UnknownWeightError extends Error {
  constructor(readonly hook: string, readonly weight: string, known: string[]) {
    const shown = known.slice(0, 5).map((n) => `'${n}'`).join(', ');
    super(`training hook ${hook} names unknown weight '${weight}'; the model's trainable weights are ` +
      `${shown}${known.length > 5 ? `, … (${known.length} in all)` : ''}; use those names (\`layer/weight\`)`);
    this.name = 'UnknownWeightError';
  }
}
