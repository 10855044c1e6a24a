import { createLogger } from '@ser/logger';
import { Writable } from 'node:stream';
import { AdmissionControl } from './admission-control';
import type { AdmissionOptions, BacklogReader } from './admission-control';

const options: AdmissionOptions = {
  maxScanBacklog: 10,
  maxConcurrentData: 2,
  refreshIntervalMs: 1000,
  readTimeoutMs: 500,
  maxAgeMs: 5000,
};

/** A logger whose JSON lines the test can read. */
function capturedLogger(): { logger: ReturnType<typeof createLogger>; codes: () => string[] } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      callback();
    },
  });
  const logger = createLogger({ level: 'info', pretty: false, destination });
  return { logger, codes: () => lines.map((l) => (JSON.parse(l) as { code: string }).code) };
}

/** A backlog that the test sets, counting reads; each read settles at once. */
function backlogOf(initial: number): { read: BacklogReader; set: (n: number) => void; reads: () => number } {
  let value = initial;
  let reads = 0;
  return {
    read: () => {
      reads += 1;
      return Promise.resolve(value);
    },
    set: (n) => (value = n),
    reads: () => reads,
  };
}

/** Lets the pending read settle. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('AdmissionControl', () => {
  let clock: number;
  const now = (): number => clock;

  beforeEach(() => {
    clock = 1_000_000;
  });

  it('refuses new transactions while the backlog read last is over the bound, and admits again once it is not', async () => {
    const backlog = backlogOf(11);
    const admission = new AdmissionControl(options, backlog.read, capturedLogger().logger, now);

    // Nothing read yet: admitted, and the first read starts.
    expect(admission.checkTransaction()).toBeUndefined();
    await settle();
    expect(admission.checkTransaction()).toBe('scan_backlog');

    backlog.set(10); // at the bound is not over it
    clock += 999;
    expect(admission.checkTransaction()).toBe('scan_backlog'); // the cached reading
    await settle();
    clock += 1;
    expect(admission.checkTransaction()).toBe('scan_backlog'); // starts the next read
    await settle();
    expect(admission.checkTransaction()).toBeUndefined();
  });

  it('reads the backlog at most once per interval, however many checks', async () => {
    const backlog = backlogOf(0);
    const admission = new AdmissionControl(options, backlog.read, capturedLogger().logger, now);

    for (let i = 0; i < 100; i += 1) {
      admission.checkTransaction();
      await settle();
      clock += 25; // 100 checks over 2.5 s
    }

    expect(backlog.reads()).toBe(3);
  });

  it('never waits for a read that does not answer, and admits while the backlog is unknown', async () => {
    const { logger, codes } = capturedLogger();
    let reads = 0;
    const hanging: BacklogReader = () => {
      reads += 1;
      return new Promise<number>(() => undefined);
    };
    const admission = new AdmissionControl({ ...options, readTimeoutMs: 20 }, hanging, logger, now);

    expect(admission.checkTransaction()).toBeUndefined();
    clock += 5000;
    expect(admission.checkTransaction()).toBeUndefined();
    expect(reads).toBe(1); // the first read is still pending

    await new Promise((resolve) => setTimeout(resolve, 50)); // its timeout
    expect(admission.checkTransaction()).toBeUndefined();
    expect(reads).toBe(2);
    expect(codes()).toEqual(['INGRESS_BACKLOG_UNREADABLE']);
  });

  it('forgets a full reading when the next read fails (Redis down)', async () => {
    let fail = false;
    const reader: BacklogReader = () => (fail ? Promise.reject(new Error('down')) : Promise.resolve(50));
    const admission = new AdmissionControl(options, reader, capturedLogger().logger, now);
    admission.checkTransaction();
    await settle();
    expect(admission.checkTransaction()).toBe('scan_backlog');

    fail = true;
    clock += 1000;
    admission.checkTransaction();
    await settle();

    expect(admission.checkTransaction()).toBeUndefined();
  });

  it('does not trust a reading older than maxAgeMs (an idle replica)', async () => {
    const backlog = backlogOf(50);
    const admission = new AdmissionControl(options, backlog.read, capturedLogger().logger, now);
    admission.checkTransaction();
    await settle();
    expect(admission.checkTransaction()).toBe('scan_backlog');

    clock += 5001;

    expect(admission.checkTransaction()).toBeUndefined(); // and a new read has started
    await settle();
    expect(admission.checkTransaction()).toBe('scan_backlog');
  });

  it('hands out at most maxConcurrentData permits, and a released one can be taken again', () => {
    const admission = new AdmissionControl(options, backlogOf(0).read, capturedLogger().logger, now);

    const first = admission.startData();
    const second = admission.startData();
    expect(first).toBeDefined();
    expect(second).toBeDefined();
    expect(admission.startData()).toBeUndefined();
    expect(admission.checkTransaction()).toBe('concurrent_data');

    first?.release();
    first?.release(); // idempotent: a second release must not free someone else's slot
    expect(admission.dataInProgress).toBe(1);
    expect(admission.checkTransaction()).toBeUndefined();
    expect(admission.startData()).toBeDefined();
    expect(admission.startData()).toBeUndefined();
  });

  it('logs refusals at most once per reason every 10 s, with the count since the previous line', () => {
    const { logger, codes } = capturedLogger();
    const admission = new AdmissionControl(
      { ...options, maxConcurrentData: 1 },
      backlogOf(0).read,
      logger,
      now,
    );
    admission.startData();

    for (let i = 0; i < 50; i += 1) {
      admission.checkTransaction();
      clock += 100;
    }
    expect(codes()).toEqual(['INGRESS_ADMISSION_REFUSED']);
    clock += 10_000;
    admission.checkTransaction();

    expect(codes()).toEqual(['INGRESS_ADMISSION_REFUSED', 'INGRESS_ADMISSION_REFUSED']);
  });

  it('refuses bounds that would admit nothing', () => {
    const read = backlogOf(0).read;
    const { logger } = capturedLogger();
    expect(() => new AdmissionControl({ ...options, maxConcurrentData: 0 }, read, logger)).toThrow(
      RangeError,
    );
    expect(() => new AdmissionControl({ ...options, maxScanBacklog: 1.5 }, read, logger)).toThrow(RangeError);
  });
});
