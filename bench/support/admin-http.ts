import { BenchmarkFailedError } from './benchmark';

export interface HttpText {
  status: number;
  contentType: string;
  text: string;
}

/**
 * The admin API over real HTTP with the bearer token, as an operator's client calls it. Bodies
 * are read in full: a report is answered when its last byte has arrived.
 */
export class AdminHttp {
  constructor(
    private readonly baseUrl: string,
    private readonly token: string,
  ) {}

  async get(path: string): Promise<HttpText> {
    const response = await fetch(`${this.baseUrl}${path}`, {
      headers: { authorization: `Bearer ${this.token}` },
    });
    return {
      status: response.status,
      contentType: response.headers.get('content-type') ?? '',
      text: await response.text(),
    };
  }

  /** POSTs JSON and returns the new resource's id; anything but 201 stops the benchmark. */
  async create(path: string, body: Record<string, unknown>): Promise<string> {
    const response = await fetch(`${this.baseUrl}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    const id: unknown = response.status === 201 ? (JSON.parse(text) as { id?: unknown }).id : undefined;
    if (typeof id !== 'string') {
      throw new BenchmarkFailedError(
        `POST ${path}: expected 201 with an id, got ${String(response.status)} ${text}`,
      );
    }
    return id;
  }

  /**
   * Sends `method path` with a JSON body and returns the parsed JSON answer; any status but
   * `expected` stops the benchmark (an onboarding step that fails makes every number meaningless).
   */
  async json(
    method: 'POST' | 'PATCH',
    path: string,
    body: Record<string, unknown>,
    expected: number,
  ): Promise<Record<string, unknown>> {
    const response = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    if (response.status !== expected) {
      throw new BenchmarkFailedError(
        `${method} ${path}: expected ${String(expected)}, got ${String(response.status)} ${text}`,
      );
    }
    return JSON.parse(text) as Record<string, unknown>;
  }
}
