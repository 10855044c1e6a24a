/**
 * Open SMTP sessions per client IP and per authenticated application, on this replica only (the
 * limits are per replica, so no Redis round trip per connection). Synchronous, hence free of races
 * within the process.
 *
 * Counts at zero are deleted, so a stream of one-off clients does not grow the maps.
 */
export class ConnectionTracker {
  private readonly ips = new Map<string, number>();
  private readonly apps = new Map<string, number>();

  /** Registers a connection from ip if fewer than maxPerIp are open from it; returns false (and registers nothing) otherwise. */
  openIp(ip: string, maxPerIp: number): boolean {
    return open(this.ips, ip, maxPerIp);
  }

  /** Releases one connection from ip; a close without a matching open is ignored. */
  closeIp(ip: string): void {
    close(this.ips, ip);
  }

  /** Registers a session of an authenticated application if fewer than maxPerApp are open; returns false (and registers nothing) otherwise. */
  openApp(appId: string, maxPerApp: number): boolean {
    return open(this.apps, appId, maxPerApp);
  }

  /** Releases one session of the application; a close without a matching open is ignored. */
  closeApp(appId: string): void {
    close(this.apps, appId);
  }

  /** Connections open from ip now. */
  countIp(ip: string): number {
    return this.ips.get(ip) ?? 0;
  }

  /** Sessions of the application open now. */
  countApp(appId: string): number {
    return this.apps.get(appId) ?? 0;
  }
}

function open(counts: Map<string, number>, key: string, max: number): boolean {
  const current = counts.get(key) ?? 0;
  if (current >= max) {
    return false;
  }
  counts.set(key, current + 1);
  return true;
}

function close(counts: Map<string, number>, key: string): void {
  const current = counts.get(key) ?? 0;
  if (current <= 1) {
    counts.delete(key);
  } else {
    counts.set(key, current - 1);
  }
}
