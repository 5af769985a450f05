// One log file per process, `<dir>/<id>.log`, besides whatever the terminal shows: after a crash
// loop the supervisor names the file, and it still holds the process's own words about why it
// failed when the terminal has scrolled on. Emptied when the system starts (one run per file);
// the output of every restart within the run follows in the same file.

import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';

export class ProcessLog {
  readonly file: string;
  private readonly stream: WriteStream;
  private failed = false;

  private constructor(file: string) {
    this.file = file;
    this.stream = createWriteStream(file, { flags: 'w' });
    // A full disk must not take the launcher down with it: say it once, then stop writing.
    this.stream.on('error', (error) => {
      if (!this.failed) process.stderr.write(`launcher | cannot write ${file}: ${error.message}\n`);
      this.failed = true;
    });
  }

  static async open(dir: string, id: string): Promise<ProcessLog> {
    await mkdir(dir, { recursive: true });
    return new ProcessLog(path.join(dir, `${id}.log`));
  }

  /** A line the process printed, as it printed it (JSON logs stay parseable). */
  line(text: string): void {
    if (!this.failed) this.stream.write(`${text}\n`);
  }

  /** A line of the supervisor's, shaped like the processes' own JSON log lines. */
  note(message: string): void {
    this.line(
      JSON.stringify({ level: 'warn', time: new Date().toISOString(), service: 'supervisor', msg: message }),
    );
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.stream.end(resolve));
  }
}
