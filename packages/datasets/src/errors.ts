/** A data file that is not what its name says: wrong size, foreign layout, labels out of range. */
export class DatasetFormatError extends Error {
  constructor(readonly file: string, problem: string) {
    super(`${file}: ${problem}`);
    this.name = 'DatasetFormatError';
  }
}
