import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface SelfSignedCert {
  /** PEM private key (EC P-256). */
  key: string;
  /** PEM certificate; pass it as `ca` to clients that should verify the server. */
  cert: string;
}

export interface SelfSignedCertOptions {
  commonName?: string;
  /** subjectAltName entries (default `DNS:localhost`, `IP:127.0.0.1`, `IP:::1`). */
  altNames?: readonly string[];
  days?: number;
}

const DEFAULT_ALT_NAMES = ['DNS:localhost', 'IP:127.0.0.1', 'IP:::1'];

/**
 * Generates a throwaway self-signed certificate with the `openssl` CLI (no npm
 * dependency). The key and cert are written to a private temp dir, read back and
 * the dir is removed. Clients verify by hostname/IP against the SAN (RFC 6125
 * §6.4.4 ignores the CN when a SAN is present), hence the SAN list.
 */
export function generateSelfSignedCert(options: SelfSignedCertOptions = {}): SelfSignedCert {
  const dir = mkdtempSync(join(tmpdir(), 'ser-cert-'));
  const keyPath = join(dir, 'key.pem');
  const certPath = join(dir, 'cert.pem');
  try {
    // prettier-ignore
    runOpenssl([
      'req', '-x509', '-nodes',
      '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
      '-keyout', keyPath, '-out', certPath,
      '-days', String(options.days ?? 2),
      '-subj', `/CN=${options.commonName ?? 'localhost'}`,
      '-addext', `subjectAltName=${(options.altNames ?? DEFAULT_ALT_NAMES).join(',')}`,
    ]);
    return { key: readFileSync(keyPath, 'utf8'), cert: readFileSync(certPath, 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function runOpenssl(args: string[]): void {
  const result = spawnSync('openssl', args, { encoding: 'utf8', timeout: 30_000 });
  if (result.error) {
    throw new Error(`generateSelfSignedCert needs the openssl CLI on PATH: ${result.error.message}`);
  }
  if (result.status !== 0) {
    throw new Error(
      `openssl ${args.slice(0, 2).join(' ')} failed (exit ${result.status}): ${result.stderr.trim()}`,
    );
  }
}
