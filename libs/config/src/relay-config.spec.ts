import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ConfigError, loadConfig, SERVICE_NAMES } from './relay-config';
import type { Env } from './env-source';

/** The problems loadConfig reports for `env`; fails the test when it does not throw ConfigError. */
function problemsOf(env: Env): readonly string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) {
      return error.problems;
    }
    throw error;
  }
  throw new Error('expected loadConfig to throw a ConfigError');
}

describe('loadConfig defaults', () => {
  it('fills every default from an empty environment', () => {
    const config = loadConfig({});
    expect(config.SER_SERVICES).toEqual([...SERVICE_NAMES]);
    expect(config.REDIS_URL).toBe('redis://127.0.0.1:6379');
    expect(config.MONGO_URL).toBe('mongodb://127.0.0.1:27017/ser');
    expect(config.mongoDb).toBe('ser');
    expect(config.SER_MONGO_WRITE_CONCERN).toBe('majority');
    expect(config.SER_QUEUE_PREFIX).toBe('ser');
    expect(config.SER_LOG_LEVEL).toBe('info');
    expect(config.SER_LOG_PRETTY).toBe(false);
    expect(config.SER_INGRESS_SUBMISSION_PORT).toBe(587);
    expect(config.SER_INGRESS_SUBMISSIONS_PORT).toBe(465);
    expect(config.SER_INGRESS_MAX_MESSAGE_BYTES).toBe(25 * 1024 * 1024);
    expect(config.SER_EGRESS_PORT).toBe(25);
    expect(config.SER_ADMIN_PORT).toBe(8080);
    expect(config.SER_OPS_PORT).toBe(9464);
    expect(config.SER_OPS_BIND).toBe('0.0.0.0');
    expect(config.SER_DNS_SERVERS).toEqual([]);
    expect(config.SER_MASTER_KEY).toBeUndefined();
    expect(config.SER_ADMIN_TOKEN).toBeUndefined();
    expect(config.dataDir).toBe(resolve('.data'));
  });

  it('treats empty and blank values as unset', () => {
    const config = loadConfig({ SER_ADMIN_PORT: '', SER_QUEUE_PREFIX: '   ', SER_MASTER_KEY: ' ' });
    expect(config.SER_ADMIN_PORT).toBe(8080);
    expect(config.SER_QUEUE_PREFIX).toBe('ser');
    expect(config.SER_MASTER_KEY).toBeUndefined();
  });

  it('coerces numbers and booleans from strings', () => {
    const config = loadConfig({
      SER_ADMIN_PORT: ' 9090 ',
      SER_LOG_PRETTY: '1',
      SER_SCANNER_CONCURRENCY: '2',
    });
    expect(config.SER_ADMIN_PORT).toBe(9090);
    expect(config.SER_LOG_PRETTY).toBe(true);
    expect(config.SER_SCANNER_CONCURRENCY).toBe(2);
  });
});

describe('loadConfig problems', () => {
  it('reports every problem at once, each naming its variable', () => {
    const problems = problemsOf({
      SER_ADMIN_PORT: '70000',
      REDIS_URL: 'not a url',
      SER_LOG_LEVEL: 'loud',
      SER_LOG_PRETTY: 'yes',
    });
    expect(problems).toHaveLength(4);
    expect(problems.some((p) => p.startsWith('SER_ADMIN_PORT: '))).toBe(true);
    expect(problems.some((p) => p.startsWith('REDIS_URL: '))).toBe(true);
    expect(problems.some((p) => p.startsWith('SER_LOG_LEVEL: '))).toBe(true);
    expect(problems.some((p) => p.startsWith('SER_LOG_PRETTY: '))).toBe(true);
  });

  it('puts every problem in the error message', () => {
    let message = '';
    try {
      loadConfig({ SER_CLAMD_PORT: 'abc', MONGO_URL: 'postgres://db/ser' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/^invalid configuration:/);
    expect(message).toContain('SER_CLAMD_PORT');
    expect(message).toContain('MONGO_URL: expected a mongodb:// URL');
  });

  it.each(['-1', '65536', '1.5', 'eighty'])('refuses the port %p', (value) => {
    expect(problemsOf({ SER_INGRESS_SUBMISSION_PORT: value })).toEqual([
      expect.stringMatching(/^SER_INGRESS_SUBMISSION_PORT: /),
    ]);
  });

  it('accepts port 0 (pick a free port) and 65535', () => {
    expect(loadConfig({ SER_ADMIN_PORT: '0' }).SER_ADMIN_PORT).toBe(0);
    expect(loadConfig({ SER_ADMIN_PORT: '65535' }).SER_ADMIN_PORT).toBe(65535);
  });

  it('refuses a zero concurrency', () => {
    expect(problemsOf({ SER_EGRESS_CONCURRENCY: '0' })).toEqual([
      expect.stringMatching(/^SER_EGRESS_CONCURRENCY: /),
    ]);
  });

  it('refuses a commit timeout longer than the scanner mark lives (over 5 minutes)', () => {
    expect(loadConfig({ SER_INGRESS_COMMIT_TIMEOUT_MS: '300000' }).SER_INGRESS_COMMIT_TIMEOUT_MS).toBe(
      300_000,
    );
    expect(problemsOf({ SER_INGRESS_COMMIT_TIMEOUT_MS: '300001' })).toEqual([
      expect.stringMatching(/^SER_INGRESS_COMMIT_TIMEOUT_MS: /),
    ]);
  });
});

describe('SER_SERVICES', () => {
  it('selects every service with "all"', () => {
    expect(loadConfig({ SER_SERVICES: 'all' }).SER_SERVICES).toEqual([...SERVICE_NAMES]);
  });

  it('parses a comma-separated list, trimming blanks and skipping empty items', () => {
    expect(loadConfig({ SER_SERVICES: ' ingress , egress,,admin ' }).SER_SERVICES).toEqual([
      'ingress',
      'egress',
      'admin',
    ]);
  });

  it('refuses an unknown service name', () => {
    expect(problemsOf({ SER_SERVICES: 'ingress,mailer' })).toEqual([
      expect.stringMatching(/^SER_SERVICES: /),
    ]);
  });

  it('refuses a list with no service in it', () => {
    expect(problemsOf({ SER_SERVICES: ' , ,' })).toEqual([expect.stringMatching(/^SER_SERVICES: /)]);
  });

  it('runs every service when the variable is empty (unset)', () => {
    expect(loadConfig({ SER_SERVICES: '' }).SER_SERVICES).toEqual([...SERVICE_NAMES]);
  });
});

describe('SER_DNS_SERVERS', () => {
  it('parses hosts, host:port and bracketed IPv6 with a port', () => {
    const config = loadConfig({ SER_DNS_SERVERS: '1.1.1.1, 127.0.0.1:5353,[::1]:53,[2001:db8::1],dns.test' });
    expect(config.SER_DNS_SERVERS).toEqual([
      '1.1.1.1',
      '127.0.0.1:5353',
      '[::1]:53',
      '[2001:db8::1]',
      'dns.test',
    ]);
  });

  it.each(['::1:53', '127.0.0.1:', '127.0.0.1:dns', '[::1]:', '[zz::1]:53', 'a b', '127.0.0.1:123456'])(
    'refuses the entry %p and names it',
    (entry) => {
      const problems = problemsOf({ SER_DNS_SERVERS: `1.1.1.1,${entry}` });
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(/^SER_DNS_SERVERS: /);
      expect(problems[0]).toContain(`"${entry}"`);
    },
  );

  it('refuses a port above 65535 or port 0, which the pattern alone lets through', () => {
    expect(problemsOf({ SER_DNS_SERVERS: '127.0.0.1:99999' })).toEqual([
      expect.stringMatching(/^SER_DNS_SERVERS: .*"127\.0\.0\.1:99999"/),
    ]);
    expect(problemsOf({ SER_DNS_SERVERS: '[::1]:70000' })).toEqual([
      expect.stringMatching(/^SER_DNS_SERVERS: .*"\[::1\]:70000"/),
    ]);
    expect(problemsOf({ SER_DNS_SERVERS: '127.0.0.1:0' })).toEqual([
      expect.stringMatching(/^SER_DNS_SERVERS: .*"127\.0\.0\.1:0"/),
    ]);
    expect(loadConfig({ SER_DNS_SERVERS: '127.0.0.1:65535' }).SER_DNS_SERVERS).toEqual(['127.0.0.1:65535']);
  });

  it('reports every bad entry', () => {
    const problems = problemsOf({ SER_DNS_SERVERS: 'bad:entry:1,also bad' });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain('"bad:entry:1"');
    expect(problems[0]).toContain('"also bad"');
  });
});

describe('secrets from *_FILE', () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ser-config-spec-'));
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  function secretFile(name: string, content: string): string {
    const path = join(dir, name);
    writeFileSync(path, content);
    return path;
  }

  it('reads SER_MASTER_KEY and SER_ADMIN_TOKEN from files, trimming whitespace', () => {
    const key = 'q2V5LWJ5dGVzLWZvci10aGUtbWFzdGVyLWtleS0zMg==';
    const token = 'a-long-enough-operator-token-0123';
    const config = loadConfig({
      SER_MASTER_KEY_FILE: secretFile('master.key', `  ${key}\n`),
      SER_ADMIN_TOKEN_FILE: secretFile('admin.token', `${token}\r\n`),
    });
    expect(config.SER_MASTER_KEY).toBe(key);
    expect(config.SER_ADMIN_TOKEN).toBe(token);
  });

  it('reads REDIS_URL from a file and validates its content', () => {
    expect(loadConfig({ REDIS_URL_FILE: secretFile('redis.url', 'redis://cache:6380\n') }).REDIS_URL).toBe(
      'redis://cache:6380',
    );
    expect(problemsOf({ REDIS_URL_FILE: secretFile('bad-redis.url', 'not a url') })).toEqual([
      expect.stringMatching(/^REDIS_URL: /),
    ]);
  });

  it('refuses a variable set both directly and through a file', () => {
    const problems = problemsOf({
      SER_MASTER_KEY: 'direct',
      SER_MASTER_KEY_FILE: secretFile('both.key', 'from-file'),
    });
    expect(problems).toEqual(['SER_MASTER_KEY and SER_MASTER_KEY_FILE are both set; set only one']);
  });

  it('names an unreadable file and its error code', () => {
    const missing = join(dir, 'missing.token');
    expect(problemsOf({ SER_ADMIN_TOKEN_FILE: missing })).toEqual([
      `SER_ADMIN_TOKEN_FILE: cannot read ${missing} (ENOENT)`,
    ]);
  });

  it('names a directory given as a file', () => {
    expect(problemsOf({ SER_MASTER_KEY_FILE: dir })).toEqual([
      `SER_MASTER_KEY_FILE: cannot read ${dir} (EISDIR)`,
    ]);
  });

  it('applies the length rule to a token read from a file', () => {
    expect(problemsOf({ SER_ADMIN_TOKEN_FILE: secretFile('short.token', 'short\n') })).toEqual([
      'SER_ADMIN_TOKEN: must be at least 24 characters',
    ]);
  });

  it('reports file problems together with the other problems', () => {
    const problems = problemsOf({ SER_ADMIN_TOKEN_FILE: join(dir, 'nope'), SER_ADMIN_PORT: 'x' });
    expect(problems).toHaveLength(2);
    expect(problems.some((p) => p.startsWith('SER_ADMIN_TOKEN_FILE: '))).toBe(true);
    expect(problems.some((p) => p.startsWith('SER_ADMIN_PORT: '))).toBe(true);
  });

  it('does not take *_FILE for variables that are not secrets', () => {
    const config = loadConfig({ SER_QUEUE_PREFIX_FILE: secretFile('prefix', 'from-file') });
    expect(config.SER_QUEUE_PREFIX).toBe('ser');
  });
});

describe('SER_MASTER_KEY_PREVIOUS', () => {
  const key = (fill: number) => Buffer.alloc(32, fill).toString('base64');

  it('is an empty list when unset, and a trimmed list of keys otherwise', () => {
    expect(loadConfig({}).SER_MASTER_KEY_PREVIOUS).toEqual([]);
    expect(
      loadConfig({ SER_MASTER_KEY_PREVIOUS: ` ${key(1)} ,, ${key(2)}\n` }).SER_MASTER_KEY_PREVIOUS,
    ).toEqual([key(1), key(2)]);
  });

  it('refuses an entry that is not 32 bytes of base64, without printing it', () => {
    const problems = problemsOf({ SER_MASTER_KEY_PREVIOUS: `${key(1)},not-a-key-secret` });
    expect(problems).toEqual(['SER_MASTER_KEY_PREVIOUS: key 2 is not 32 bytes, base64-encoded']);
    expect(problemsOf({ SER_MASTER_KEY_PREVIOUS: Buffer.alloc(16).toString('base64') })).toEqual([
      'SER_MASTER_KEY_PREVIOUS: key 1 is not 32 bytes, base64-encoded',
    ]);
  });

  it('may come from SER_MASTER_KEY_PREVIOUS_FILE', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ser-config-spec-'));
    try {
      const file = join(dir, 'previous.keys');
      writeFileSync(file, `${key(3)},${key(4)}\n`);
      expect(loadConfig({ SER_MASTER_KEY_PREVIOUS_FILE: file }).SER_MASTER_KEY_PREVIOUS).toEqual([
        key(3),
        key(4),
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('mongoDb', () => {
  it('takes the database from the MONGO_URL path, without the query', () => {
    expect(loadConfig({ MONGO_URL: 'mongodb://db.test:27017/relay_prod?replicaSet=rs0' }).mongoDb).toBe(
      'relay_prod',
    );
    expect(loadConfig({ MONGO_URL: 'mongodb+srv://user:pw@cluster.test/tenant-a' }).mongoDb).toBe('tenant-a');
  });

  it('falls back to "ser" when the URL names no database', () => {
    expect(loadConfig({ MONGO_URL: 'mongodb://db.test:27017' }).mongoDb).toBe('ser');
    expect(loadConfig({ MONGO_URL: 'mongodb://db.test:27017/' }).mongoDb).toBe('ser');
    expect(loadConfig({ MONGO_URL: 'mongodb://db.test:27017/?authSource=admin' }).mongoDb).toBe('ser');
  });

  it('prefers SER_MONGO_DB over the URL path', () => {
    expect(loadConfig({ MONGO_URL: 'mongodb://db.test/from_url', SER_MONGO_DB: 'explicit' }).mongoDb).toBe(
      'explicit',
    );
  });

  it('refuses a SER_MONGO_DB that is not a valid database name', () => {
    expect(problemsOf({ SER_MONGO_DB: 'a.b' })).toEqual([expect.stringMatching(/^SER_MONGO_DB: /)]);
    expect(problemsOf({ SER_MONGO_DB: 'x'.repeat(64) })).toEqual([expect.stringMatching(/^SER_MONGO_DB: /)]);
  });
});

describe('SER_QUEUE_PREFIX', () => {
  it('accepts letters, digits, _ and -', () => {
    expect(loadConfig({ SER_QUEUE_PREFIX: 'ser_test-1' }).SER_QUEUE_PREFIX).toBe('ser_test-1');
  });

  it('refuses ":" because BullMQ uses it as the key separator', () => {
    expect(problemsOf({ SER_QUEUE_PREFIX: 'ser:prod' })).toEqual([
      expect.stringMatching(/^SER_QUEUE_PREFIX: .*no ":"/),
    ]);
  });
});

describe('SER_ADMIN_TOKEN', () => {
  it('refuses a token shorter than 24 characters', () => {
    expect(problemsOf({ SER_ADMIN_TOKEN: 'x'.repeat(23) })).toEqual([
      'SER_ADMIN_TOKEN: must be at least 24 characters',
    ]);
  });

  it('accepts a token of 24 characters', () => {
    expect(loadConfig({ SER_ADMIN_TOKEN: 'x'.repeat(24) }).SER_ADMIN_TOKEN).toBe('x'.repeat(24));
  });
});

describe('egress retry settings', () => {
  it('parses the retry schedule and the maximum age as durations', () => {
    const config = loadConfig({ SER_EGRESS_RETRY_SCHEDULE: '500ms, 30s,5m,2h', SER_EGRESS_MAX_AGE: '3d' });
    expect(config.SER_EGRESS_RETRY_SCHEDULE).toEqual([500, 30_000, 300_000, 7_200_000]);
    expect(config.SER_EGRESS_MAX_AGE).toBe(3 * 86_400_000);
  });

  it('defaults to 5m..4h and five days', () => {
    const config = loadConfig({});
    expect(config.SER_EGRESS_RETRY_SCHEDULE).toEqual([
      300_000, 600_000, 1_800_000, 3_600_000, 7_200_000, 14_400_000,
    ]);
    expect(config.SER_EGRESS_MAX_AGE).toBe(5 * 86_400_000);
    expect(config.SER_EGRESS_ALLOW_PRIVATE_MX).toBe(false);
  });

  it('names a bad entry', () => {
    expect(problemsOf({ SER_EGRESS_RETRY_SCHEDULE: '5m,soon' })).toEqual([
      expect.stringMatching(/^SER_EGRESS_RETRY_SCHEDULE: "soon" is not a duration/),
    ]);
    expect(problemsOf({ SER_EGRESS_MAX_AGE: '0d' })).toEqual([
      expect.stringMatching(/^SER_EGRESS_MAX_AGE: /),
    ]);
  });
});

describe('SER_EGRESS_TLS_POLICIES', () => {
  it('maps domains to policies', () => {
    expect(
      loadConfig({ SER_EGRESS_TLS_POLICIES: 'Bank.test:verify, .partner.test:require' })
        .SER_EGRESS_TLS_POLICIES,
    ).toEqual({
      'bank.test': 'verify',
      '.partner.test': 'require',
    });
  });

  it('refuses an unknown policy or a missing domain', () => {
    expect(problemsOf({ SER_EGRESS_TLS_POLICIES: 'bank.test:strict' })).toEqual([
      expect.stringMatching(/^SER_EGRESS_TLS_POLICIES: "bank.test:strict" is not domain:policy/),
    ]);
    expect(problemsOf({ SER_EGRESS_TLS_POLICIES: ':verify' })).toHaveLength(1);
  });
});

describe('reporting retention settings', () => {
  it('keeps raw events 35 days, hour buckets 62 and day buckets 400 by default', () => {
    const config = loadConfig({});
    expect(config.SER_REPORTING_EVENT_RETENTION_DAYS).toBe(35);
    expect(config.SER_REPORTING_HOURLY_STATS_RETENTION_DAYS).toBe(62);
    expect(config.SER_REPORTING_STATS_RETENTION_DAYS).toBe(400);
    expect(config.SER_REPORTING_SETTLE_INTERVAL_MS).toBe(60_000);
  });

  it('accepts equal retentions at every granularity', () => {
    const config = loadConfig({
      SER_REPORTING_EVENT_RETENTION_DAYS: '30',
      SER_REPORTING_HOURLY_STATS_RETENTION_DAYS: '30',
      SER_REPORTING_STATS_RETENTION_DAYS: '30',
      SER_REPORTING_SETTLE_INTERVAL_MS: '5000',
    });
    expect(config.SER_REPORTING_STATS_RETENTION_DAYS).toBe(30);
    expect(config.SER_REPORTING_SETTLE_INTERVAL_MS).toBe(5000);
  });

  it('refuses hour buckets kept longer than day buckets, naming both variables', () => {
    expect(
      problemsOf({
        SER_REPORTING_HOURLY_STATS_RETENTION_DAYS: '90',
        SER_REPORTING_STATS_RETENTION_DAYS: '60',
      }),
    ).toEqual([
      'SER_REPORTING_HOURLY_STATS_RETENTION_DAYS: must not exceed SER_REPORTING_STATS_RETENTION_DAYS (90 > 60)',
    ]);
  });

  it('takes the admin API certificate and key together or not at all', () => {
    expect(problemsOf({ SER_ADMIN_TLS_CERT_FILE: '/etc/ser/admin.crt' })).toEqual([
      'SER_ADMIN_TLS_CERT_FILE, SER_ADMIN_TLS_KEY_FILE: set both (HTTPS) or neither (HTTP)',
    ]);
    const both = loadConfig({ SER_ADMIN_TLS_CERT_FILE: '/a.crt', SER_ADMIN_TLS_KEY_FILE: '/a.key' });
    expect([both.SER_ADMIN_TLS_CERT_FILE, both.SER_ADMIN_TLS_KEY_FILE]).toEqual(['/a.crt', '/a.key']);
  });

  it('limits admin requests to 600 a minute unless told otherwise (0: off)', () => {
    expect(loadConfig({}).SER_ADMIN_RATE_LIMIT_PER_MINUTE).toBe(600);
    expect(loadConfig({ SER_ADMIN_RATE_LIMIT_PER_MINUTE: '0' }).SER_ADMIN_RATE_LIMIT_PER_MINUTE).toBe(0);
    expect(problemsOf({ SER_ADMIN_RATE_LIMIT_PER_MINUTE: '-1' })).toHaveLength(1);
  });

  it('refuses raw events kept longer than the hour buckets they rebuild', () => {
    expect(
      problemsOf({
        SER_REPORTING_EVENT_RETENTION_DAYS: '40',
        SER_REPORTING_HOURLY_STATS_RETENTION_DAYS: '31',
      }),
    ).toEqual([
      'SER_REPORTING_EVENT_RETENTION_DAYS: must not exceed SER_REPORTING_HOURLY_STATS_RETENTION_DAYS (40 > 31)',
    ]);
  });

  it('refuses an event retention under 2 days, zero or a fraction, and a settle interval under 1s', () => {
    for (const value of ['1', '0', '-3', '2.5', 'many']) {
      expect(problemsOf({ SER_REPORTING_EVENT_RETENTION_DAYS: value })).toEqual([
        expect.stringMatching(/^SER_REPORTING_EVENT_RETENTION_DAYS: /),
      ]);
    }
    expect(problemsOf({ SER_REPORTING_EVENT_RETENTION_DAYS: '1' })[0]).toMatch(/at least 2/);
    expect(problemsOf({ SER_REPORTING_STATS_RETENTION_DAYS: '0' })).toHaveLength(1);
    expect(problemsOf({ SER_REPORTING_SETTLE_INTERVAL_MS: '10' })).toHaveLength(1);
  });
});
