import { replyClassOf } from './egress-metrics';

describe('replyClassOf', () => {
  it.each([
    [[250], '2xx'],
    [[250, 550, 451], '2xx'],
    [[451, 550], '4xx'],
    [[421], '4xx'],
    [[550, 552], '5xx'],
    [[], 'connection'],
  ])('classes the replies %j as %s', (codes, expected) => {
    expect(replyClassOf(codes)).toBe(expected);
  });
});
