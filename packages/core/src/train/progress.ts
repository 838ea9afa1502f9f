import { SingleBar } from 'cli-progress';

/**
 * Progress on stderr: a live bar (cli-progress) on a terminal, otherwise a plain line every few seconds
 * so that logs of CI or `nohup` runs stay readable.
 */
export class Progress {
  private bar?: SingleBar;
  private lastLine = 0;

  constructor(private readonly label: string, private readonly enabled: boolean) {}

  start(total: number, done: number): void {
    if (!this.enabled) return;
    if (process.stderr.isTTY) {
      this.bar = new SingleBar({
        stream: process.stderr,
        format: `${this.label} [{bar}] {value}/{total} batches | {status}`,
        barsize: 24,
        hideCursor: true,
      });
      this.bar.start(total, done, { status: '' });
    }
  }

  update(done: number, total: number, status: string): void {
    if (!this.enabled) return;
    if (this.bar) {
      this.bar.update(done, { status });
    } else if (Date.now() - this.lastLine > 10_000 || done === total) {
      this.lastLine = Date.now();
      process.stderr.write(`${this.label} ${done}/${total} ${status}\n`);
    }
  }

  stop(): void {
    this.bar?.stop();
    this.bar = undefined;
  }
}
