import { generateSelfSignedCert } from '@ser/testing';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAdminFixture } from './admin-fixture';
import type { AdminFixture } from './admin-fixture';

/** GET over HTTPS, trusting only `ca`; resolves with the status and body. */
function httpsGet(
  port: number,
  path: string,
  ca: string,
  token: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, ca, headers: { authorization: `Bearer ${token}` } },
      (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('admin API over HTTPS (SER_ADMIN_TLS_CERT_FILE, SER_ADMIN_TLS_KEY_FILE)', () => {
  let fixture: AdminFixture | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'ser-admin-tls-'));
  const tls = generateSelfSignedCert();

  beforeAll(async () => {
    writeFileSync(join(dir, 'admin.crt'), tls.cert);
    writeFileSync(join(dir, 'admin.key'), tls.key);
    fixture = await startAdminFixture({
      SER_ADMIN_TLS_CERT_FILE: join(dir, 'admin.crt'),
      SER_ADMIN_TLS_KEY_FILE: join(dir, 'admin.key'),
    });
  });

  afterAll(async () => {
    await fixture?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the API over TLS with the configured certificate, and nothing over plain HTTP', async () => {
    const port = fixture?.config.SER_ADMIN_PORT ?? 0;
    const token = fixture?.setup.adminToken ?? '';
    const plain = await fetch(`http://127.0.0.1:${port}/healthz`).then(
      () => 'answered',
      () => 'refused',
    );
    expect(plain).toBe('refused');
    const health = await httpsGet(port, '/healthz', tls.cert, token);
    expect(health.status).toBe(200);
    const tenants = await httpsGet(port, '/v1/tenants', tls.cert, token);
    expect(tenants.status).toBe(200);
    expect(JSON.parse(tenants.body)).toEqual({ items: [], nextCursor: null });
    // A client that does not trust the certificate is refused by TLS itself.
    await expect(httpsGet(port, '/healthz', generateSelfSignedCert().cert, token)).rejects.toThrow();
  });
});
