import type { MessageRepository } from '@ser/data';
import { createLogger } from '@ser/logger';
import type { AcceptanceVerdict, AcceptanceVerdicts } from '@ser/queue';
import { AcceptanceCommit, CommitNotConfirmedError } from './acceptance-commit';

/** A message record whose commit fails `failures` times; `applied`: the failed tries landed. */
function record(options: { failures: number; applied?: boolean; gone?: boolean }) {
  let state = 'receiving';
  let tries = 0;
  const repository = {
    transition: () => {
      tries += 1;
      if (options.gone) {
        return Promise.resolve(false);
      }
      const moved = state === 'receiving';
      if (tries <= options.failures) {
        if (options.applied) {
          state = 'accepted';
        }
        return Promise.reject(new Error('connection lost'));
      }
      state = 'accepted';
      return Promise.resolve(moved);
    },
    messages: { findOne: () => Promise.resolve(options.gone ? null : { state }) },
  };
  return { repository: repository as unknown as MessageRepository, tries: () => tries };
}

function verdicts(holding: AcceptanceVerdict | 'unreachable' | undefined) {
  const claims: AcceptanceVerdict[] = [];
  const fake = {
    claim: (_id: string, verdict: AcceptanceVerdict) => {
      claims.push(verdict);
      return holding === 'unreachable'
        ? Promise.reject(new Error('Redis is not reachable'))
        : Promise.resolve(holding ?? verdict);
    },
  };
  return { verdicts: fake as unknown as AcceptanceVerdicts, claims };
}

const logger = createLogger({ level: 'silent', pretty: false });
const ID = '01m8kxsjy4d1fmnm34sg4ccbg3';

describe('AcceptanceCommit', () => {
  it('retries a failed commit and succeeds once the database answers', async () => {
    const db = record({ failures: 2 });
    const redis = verdicts(undefined);
    await new AcceptanceCommit(db.repository, redis.verdicts, 5000).commit(ID, logger);
    expect(db.tries()).toBe(3);
    expect(redis.claims).toEqual([]);
  });

  it('takes a retry that matches nothing for success when the record is past receiving', async () => {
    const db = record({ failures: 1, applied: true });
    await new AcceptanceCommit(db.repository, verdicts(undefined).verdicts, 5000).commit(ID, logger);
    expect(db.tries()).toBe(2);
  });

  it('claims the refusal once the deadline has passed', async () => {
    const redis = verdicts(undefined);
    const commit = new AcceptanceCommit(record({ failures: 1000 }).repository, redis.verdicts, 300);
    await expect(commit.commit(ID, logger)).rejects.toMatchObject({ refusalClaimed: true });
    expect(redis.claims).toEqual(['refused']);
  });

  it('succeeds past the deadline when the scanner had taken the message', async () => {
    const commit = new AcceptanceCommit(
      record({ failures: 1000 }).repository,
      verdicts('taken').verdicts,
      300,
    );
    await expect(commit.commit(ID, logger)).resolves.toBeUndefined();
  });

  it('refuses without a recorded refusal when Redis cannot be reached', async () => {
    const commit = new AcceptanceCommit(
      record({ failures: 1000 }).repository,
      verdicts('unreachable').verdicts,
      300,
    );
    const error: unknown = await commit.commit(ID, logger).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CommitNotConfirmedError);
    expect(error).toMatchObject({ refusalClaimed: false });
  });

  it('refuses at once, without a claim, when the record is gone', async () => {
    const redis = verdicts(undefined);
    const db = record({ failures: 0, gone: true });
    const commit = new AcceptanceCommit(db.repository, redis.verdicts, 5000);
    await expect(commit.commit(ID, logger)).rejects.toMatchObject({ refusalClaimed: false });
    expect(redis.claims).toEqual([]);
  });
});
