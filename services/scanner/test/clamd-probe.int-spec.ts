import { loadConfig } from '@ser/config';
import { freePort } from '@ser/testing';
import { pino } from 'pino';
import { Writable } from 'node:stream';
import { ClamdProbe } from '../src/scan/clamd-probe';

/** The start-up probe against the real clamd, and against a port where nothing listens. */
describe('ClamdProbe', () => {
  async function probe(overrides: Record<string, string> = {}): Promise<Record<string, unknown>[]> {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        done();
      },
    });
    const config = loadConfig({ ...process.env, ...overrides });
    await new ClamdProbe(config, pino({ level: 'info' }, sink)).onApplicationBootstrap();
    return lines;
  }

  it("logs clamd's version when clamd answers", async () => {
    const lines = await probe();
    expect(lines.map((l) => l['code'])).toEqual(['SCANNER_CLAMD_VERSION']);
    expect(lines[0]?.['version']).toMatch(/^ClamAV \d+\.\d+/);
  });

  it('warns, without failing the start, when clamd does not answer', async () => {
    const lines = await probe({ SER_CLAMD_PORT: String(await freePort()) });
    expect(lines.map((l) => [l['code'], l['level']])).toEqual([['SCANNER_CLAMD_UNREACHABLE', 40]]);
  });
});
