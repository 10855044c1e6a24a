import type { Redis } from 'ioredis';

/**
 * Who decided the fate of a message whose commit ingress could not confirm: ingress `refused` it
 * (the client got `451` and will send it again), or the scanner `taken` it (it is on its way, so
 * ingress answers `250`). See docs/smtp.md, "Durability".
 */
export type AcceptanceVerdict = 'refused' | 'taken';

/**
 * How long a verdict is kept. A refusal must outlive any write to the record that the database may
 * still apply late (a stopped or partitioned server) and every retry of the scan job: a week. A
 * `taken` mark only has to outlive the ingress request that may still be waiting to claim the
 * refusal (SER_INGRESS_COMMIT_TIMEOUT_MS, at most 5 minutes): 15 minutes. Every message gets one,
 * so its lifetime is Redis memory: about 25 MB at 400 messages a second.
 */
export const ACCEPTANCE_VERDICT_TTL_S: Readonly<Record<AcceptanceVerdict, number>> = {
  refused: 7 * 24 * 3600,
  taken: 15 * 60,
};

/**
 * The verdict key of a message: `<SER_QUEUE_PREFIX>:acceptance:<messageId>`, next to BullMQ's
 * `<prefix>:<queue>:…` keys and the services' `<prefix>:<service>:…` keys.
 */
export function acceptanceVerdictKey(prefix: string, messageId: string): string {
  return `${prefix}:acceptance:${messageId}`;
}

// Sets the key unless it exists, atomically, and answers whichever verdict is there afterwards.
const CLAIM_SCRIPT = `
local current = redis.call('GET', KEYS[1])
if current then
  return current
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return ARGV[1]
`;

/**
 * The arbitration between ingress and the scanner over a message ingress could not confirm: the
 * first to claim a verdict wins, and both abide by it. Shared by both services so that the key, its
 * values and their lifetimes are defined once.
 */
export class AcceptanceVerdicts {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  /** Claims `verdict` unless a verdict exists already; resolves with the one that holds. */
  async claim(messageId: string, verdict: AcceptanceVerdict): Promise<AcceptanceVerdict> {
    const key = acceptanceVerdictKey(this.prefix, messageId);
    const holding = await this.redis.eval(CLAIM_SCRIPT, 1, key, verdict, ACCEPTANCE_VERDICT_TTL_S[verdict]);
    return parseVerdict(holding, key);
  }

  /** The verdict, if any, without claiming one. */
  async read(messageId: string): Promise<AcceptanceVerdict | undefined> {
    const key = acceptanceVerdictKey(this.prefix, messageId);
    const value = await this.redis.get(key);
    return value === null ? undefined : parseVerdict(value, key);
  }
}

function parseVerdict(value: unknown, key: string): AcceptanceVerdict {
  if (value === 'refused' || value === 'taken') {
    return value;
  }
  throw new Error(`unexpected value in ${key}: ${String(value)}`);
}
