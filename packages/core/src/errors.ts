/** A spec that does not describe a network we can build; `problems` lists every reason. */
export class SpecError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid architecture spec:\n  - ${problems.join('\n  - ')}`);
    this.name = 'SpecError';
  }
}
