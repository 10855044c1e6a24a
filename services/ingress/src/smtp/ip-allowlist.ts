import { BlockList, isIP } from 'node:net';

/** `::ffff:192.0.2.1` is the IPv4 client 192.0.2.1 seen through a dual-stack socket. */
function canonical(ip: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip);
  return mapped?.[1] ?? ip;
}

/**
 * Whether `ip` is in one of `entries` (addresses or CIDR blocks, IPv4 or IPv6). An empty list
 * allows every address; an entry that does not parse allows nothing (the admin API validates them).
 */
export function isAddressAllowed(ip: string, entries: readonly string[] | undefined): boolean {
  if (entries === undefined || entries.length === 0) {
    return true;
  }
  const address = canonical(ip);
  const family = isIP(address);
  if (family === 0) {
    return false;
  }
  const list = new BlockList();
  for (const entry of entries) {
    const [network = '', bits] = entry.split('/');
    const entryFamily = isIP(network);
    if (entryFamily === 0) {
      continue;
    }
    const type = entryFamily === 4 ? 'ipv4' : 'ipv6';
    if (bits === undefined) {
      list.addAddress(network, type);
    } else {
      list.addSubnet(network, Number(bits), type);
    }
  }
  return list.check(address, family === 4 ? 'ipv4' : 'ipv6');
}
