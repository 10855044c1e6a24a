import { ConnectionTracker } from './connection-tracker';

describe('ConnectionTracker', () => {
  it('admits connections from an IP up to its limit, then refuses without counting', () => {
    const tracker = new ConnectionTracker();

    expect(tracker.openIp('192.0.2.1', 2)).toBe(true);
    expect(tracker.openIp('192.0.2.1', 2)).toBe(true);
    expect(tracker.openIp('192.0.2.1', 2)).toBe(false);
    expect(tracker.countIp('192.0.2.1')).toBe(2);
  });

  it('counts each IP on its own', () => {
    const tracker = new ConnectionTracker();

    expect(tracker.openIp('192.0.2.1', 1)).toBe(true);
    expect(tracker.openIp('2001:db8::1', 1)).toBe(true);
    expect(tracker.openIp('192.0.2.1', 1)).toBe(false);
    expect(tracker.countIp('2001:db8::1')).toBe(1);
  });

  it('admits a new connection once one has closed', () => {
    const tracker = new ConnectionTracker();
    tracker.openIp('192.0.2.1', 1);

    tracker.closeIp('192.0.2.1');

    expect(tracker.countIp('192.0.2.1')).toBe(0);
    expect(tracker.openIp('192.0.2.1', 1)).toBe(true);
  });

  it('never goes negative when closes outnumber opens', () => {
    const tracker = new ConnectionTracker();
    tracker.openIp('192.0.2.1', 5);
    tracker.closeIp('192.0.2.1');
    tracker.closeIp('192.0.2.1');
    tracker.closeApp('app_1');

    expect(tracker.countIp('192.0.2.1')).toBe(0);
    expect(tracker.countApp('app_1')).toBe(0);
    // A negative count would have admitted more than the limit here.
    expect(tracker.openIp('192.0.2.1', 1)).toBe(true);
    expect(tracker.openIp('192.0.2.1', 1)).toBe(false);
  });

  it('refuses everything with a limit of zero', () => {
    const tracker = new ConnectionTracker();

    expect(tracker.openIp('192.0.2.1', 0)).toBe(false);
    expect(tracker.openApp('app_1', 0)).toBe(false);
    expect(tracker.countIp('192.0.2.1')).toBe(0);
  });

  it('tracks applications apart from IPs, with the same rules', () => {
    const tracker = new ConnectionTracker();

    expect(tracker.openApp('app_1', 2)).toBe(true);
    expect(tracker.openApp('app_1', 2)).toBe(true);
    expect(tracker.openApp('app_1', 2)).toBe(false);
    expect(tracker.openApp('app_2', 2)).toBe(true);
    tracker.closeApp('app_1');

    expect(tracker.countApp('app_1')).toBe(1);
    expect(tracker.countApp('app_2')).toBe(1);
    // The same string as an IP is another counter.
    expect(tracker.countIp('app_1')).toBe(0);
  });

  it('keeps no entry for a key whose count is back to zero', () => {
    const tracker = new ConnectionTracker();
    for (let i = 0; i < 1000; i++) {
      const ip = `198.51.100.${i % 256}.${i}`;
      tracker.openIp(ip, 1);
      tracker.closeIp(ip);
      tracker.openApp(`app_${i}`, 1);
      tracker.closeApp(`app_${i}`);
    }

    expect(trackedKeys(tracker)).toBe(0);
  });
});

/** Entries held by the tracker; the only way to see a leak is to look at its maps. */
function trackedKeys(tracker: ConnectionTracker): number {
  const maps = Object.values(tracker).filter((v): v is Map<string, number> => v instanceof Map);
  expect(maps).toHaveLength(2);
  return maps.reduce((sum, map) => sum + map.size, 0);
}
