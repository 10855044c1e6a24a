import { topKeys } from './stats.repository';
import { OTHER_KEY } from './stats-rollups';

describe('topKeys', () => {
  it('orders by count, then by key, and cuts to the limit', () => {
    expect(topKeys({ 'b.test': 3, 'a.test': 3, 'c.test': 5, 'd.test': 1 }, 3)).toEqual([
      { key: 'c.test', count: 5 },
      { key: 'a.test', count: 3 },
      { key: 'b.test', count: 3 },
    ]);
  });

  it('leaves out keys that came to zero, and answers nothing for no metric or a limit of 0', () => {
    expect(topKeys({ 'gone.test': 0, 'x.test': 2 }, 10)).toEqual([{ key: 'x.test', count: 2 }]);
    expect(topKeys(undefined, 10)).toEqual([]);
    expect(topKeys({ 'x.test': 2 }, 0)).toEqual([]);
  });

  it('never lists the overflow of capped keys as a key', () => {
    expect(topKeys({ [OTHER_KEY]: 50, 'x.test': 2 }, 10)).toEqual([{ key: 'x.test', count: 2 }]);
  });
});
