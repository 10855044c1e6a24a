import { CliError } from './cli-error';
import { problemError } from './problem';

export type FetchFn = typeof fetch;
export type Query = Readonly<Record<string, string | undefined>>;

/**
 * The admin API over HTTP with a bearer token. Errors name the method and path, never the token;
 * a refused request becomes a ProblemError, an unreachable API a `network` CliError.
 */
export class ApiClient {
  constructor(
    private readonly baseUrl: string,
    private readonly token: string,
    private readonly fetchFn: FetchFn = fetch,
  ) {}

  get<T>(path: string, query: Query = {}): Promise<T> {
    return this.json<T>('GET', path, undefined, query);
  }

  post<T>(path: string, body: unknown = {}): Promise<T> {
    return this.json<T>('POST', path, body);
  }

  patch<T>(path: string, body: unknown): Promise<T> {
    return this.json<T>('PATCH', path, body);
  }

  delete<T>(path: string): Promise<T> {
    return this.json<T>('DELETE', path);
  }

  /** A successful response whose body the caller streams (CSV reports, raw messages). */
  async stream(path: string, query: Query = {}, accept = '*/*'): Promise<Response> {
    const response = await this.send('GET', path, undefined, query, accept);
    if (!response.ok) {
      throw await this.refusal('GET', path, response);
    }
    return response;
  }

  private async json<T>(method: string, path: string, body?: unknown, query: Query = {}): Promise<T> {
    const response = await this.send(method, path, body, query, 'application/json');
    if (!response.ok) {
      throw await this.refusal(method, path, response);
    }
    const text = await response.text();
    if (text === '') {
      return {} as T;
    }
    try {
      return JSON.parse(text) as T;
    } catch (error) {
      throw new CliError('api', `the API answered ${method} ${path} with something that is not JSON`, [], {
        cause: error,
      });
    }
  }

  private async send(
    method: string,
    path: string,
    body: unknown,
    query: Query,
    accept: string,
  ): Promise<Response> {
    const url = new URL(`${this.baseUrl}${path}`);
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined) {
        url.searchParams.set(key, value);
      }
    }
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}`, accept };
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
    }
    try {
      return await this.fetchFn(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (error) {
      throw new CliError('network', `cannot reach the API at ${this.baseUrl}: ${networkReason(error)}`, [], {
        cause: error,
      });
    }
  }

  private async refusal(method: string, path: string, response: Response): Promise<CliError> {
    const text = await response.text().catch(() => '');
    let body: unknown = undefined;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      // Not JSON (a proxy's HTML page, say): the status line says enough.
    }
    const error = problemError(response.status, response.statusText, body, `${method} ${path}`);
    const retryAfter = response.headers.get('retry-after');
    // 429: the API's rate limit per token and address; say when to try again.
    return retryAfter === null
      ? error
      : new CliError('api', error.message, [...error.details, `retry after ${retryAfter} s`]);
  }
}

/**
 * fetch wraps the socket error in `cause`; its code (ECONNREFUSED, ENOTFOUND) is what helps. Read
 * duck-typed: under a test runner the error may come from another realm, where instanceof fails.
 */
function networkReason(error: unknown): string {
  const { message, cause } = (typeof error === 'object' && error !== null ? error : {}) as {
    message?: unknown;
    cause?: { code?: unknown; message?: unknown };
  };
  if (typeof cause?.code === 'string') {
    return cause.code;
  }
  if (typeof cause?.message === 'string') {
    return cause.message;
  }
  return typeof message === 'string' ? message : String(error);
}
