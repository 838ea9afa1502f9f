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

/** A run directory holding a checkpoint or result of another run (`field`: the first key that differs). */
export class RunMismatchError extends Error {
  constructor(readonly runDir: string, readonly field: string, what: 'checkpoint' | 'result') {
    super(`${runDir} holds a ${what} of a different run ('${field}' differs); ` +
      'choose another run directory, or delete this one to start over');
    this.name = 'RunMismatchError';
  }
}

/** A training hook (extra gradient or mask) that names a weight the model does not train. */
export class UnknownWeightError extends Error {
  constructor(readonly hook: string, readonly weight: string, known: string[]) {
    const shown = known.slice(0, 5).map((n) => `'${n}'`).join(', ');
    super(`training hook ${hook} names unknown weight '${weight}'; the model's trainable weights are ` +
      `${shown}${known.length > 5 ? `, … (${known.length} in all)` : ''}; use those names (\`layer/weight\`)`);
    this.name = 'UnknownWeightError';
  }
}
