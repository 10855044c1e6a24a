import { promises as dns } from 'node:dns';
import type { TestDnsServer } from './dns-server';

export interface TestResolverOptions {
  /** Per-try timeout (default 2000 ms; Node's default of 5 s x 4 tries hides failures for 20 s). */
  timeoutMs?: number;
  tries?: number;
}

/**
 * A `dns.promises.Resolver` that asks only the test server. Prefer passing it to
 * the code under test over `dns.setServers()`, which changes process-wide state
 * shared by every test file in the Jest worker. Note `dns.lookup()` uses the OS
 * resolver (getaddrinfo) and never reaches the test server.
 */
export function createTestResolver(server: TestDnsServer, options: TestResolverOptions = {}): dns.Resolver {
  const resolver = new dns.Resolver({ timeout: options.timeoutMs ?? 2000, tries: options.tries ?? 1 });
  resolver.setServers([server.address]);
  return resolver;
}
