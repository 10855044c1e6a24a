import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

export interface DkimpyResult {
  valid: boolean;
  domain?: string;
  selector?: string;
  error?: string;
}

/** Debian's python3-dkim lives in the system Python, whatever `python3` is first on the PATH. */
const PYTHON = '/usr/bin/python3';

/**
 * Verifies each DKIM-Signature of `message` with dkimpy, a second implementation beside mailauth,
 * fed the given TXT records (`<selector>._domainkey.<domain>` → value). The bootstrap installs it.
 */
export function verifyWithDkimpy(message: Buffer, records: Record<string, string>): DkimpyResult[] {
  const run = spawnSync(PYTHON, [join(__dirname, 'dkimpy-verify.py')], {
    input: JSON.stringify({ message: message.toString('base64'), records }),
    encoding: 'utf8',
    timeout: 30_000,
  });
  if (run.status !== 0) {
    throw new Error(`dkimpy failed (${String(run.status)}): ${run.stderr || String(run.error)}`);
  }
  return JSON.parse(run.stdout) as DkimpyResult[];
}
