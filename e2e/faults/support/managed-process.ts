import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { appendFileSync, closeSync, openSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';

const STOP_GRACE_MS = 10_000;

/**
 * One child process the suite owns (a relay service, Redis, FerretDB): started, signalled, killed and
 * started again with the same command line, its output appended to one log file across restarts.
 */
export class ManagedProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private starts = 0;

  constructor(
    readonly name: string,
    private readonly command: string,
    private readonly args: readonly string[],
    private readonly env: NodeJS.ProcessEnv,
    readonly logFile: string,
  ) {}

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  get pid(): number | undefined {
    return this.running ? this.child?.pid : undefined;
  }

  /** Resolves when the current run of the process has ended. */
  get exit(): Promise<void> {
    return this.exited;
  }

  /** How many times it was started. */
  get startCount(): number {
    return this.starts;
  }

  start(): void {
    if (this.running) {
      throw new Error(`${this.name} is already running (pid ${this.child?.pid})`);
    }
    this.starts += 1;
    appendFileSync(this.logFile, `--- ${new Date().toISOString()} start #${this.starts} of ${this.name}\n`);
    const fd = openSync(this.logFile, 'a');
    try {
      const child = spawn(this.command, [...this.args], { env: this.env, stdio: ['ignore', fd, fd] });
      this.child = child;
      this.exited = new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.once('error', (error) => {
          appendFileSync(this.logFile, `--- ${this.name} failed to start: ${error.message}\n`);
          resolve();
        });
      });
    } finally {
      closeSync(fd);
    }
  }

  /** Sends a signal without waiting (SIGSTOP, SIGCONT). */
  signal(signal: NodeJS.Signals): void {
    if (!this.running) {
      throw new Error(`${this.name} is not running`);
    }
    this.child?.kill(signal);
  }

  /** SIGKILL (or `signal`), and waits until the process is gone. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.running) {
      this.child?.kill(signal);
    }
    await this.exited;
  }

  /** SIGTERM, then SIGKILL if it is still there after a grace period. */
  async stop(): Promise<void> {
    if (!this.running) {
      return;
    }
    this.child?.kill('SIGCONT'); // a stopped process cannot handle SIGTERM
    this.child?.kill('SIGTERM');
    const gone = await Promise.race([this.exited.then(() => true), delay(STOP_GRACE_MS, false)]);
    if (!gone) {
      await this.kill('SIGKILL');
    }
  }
}
