import type { ServiceName } from '@ser/config';

/** Which services of this process have finished starting; `/readyz` reports it. */
export class Readiness {
  private readonly expected = new Set<ServiceName>();
  private readonly started = new Set<ServiceName>();

  expect(names: readonly ServiceName[]): void {
    names.forEach((n) => this.expected.add(n));
  }

  markStarted(name: ServiceName): void {
    this.started.add(name);
  }

  missing(): ServiceName[] {
    return [...this.expected].filter((n) => !this.started.has(n));
  }
}
