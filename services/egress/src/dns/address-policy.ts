import { BlockList, isIP, isIPv4, isIPv6 } from 'node:net';

/** IPv4 ranges a relay must never connect to on a recipient's behalf (RFC 6890 special-purpose). */
const NON_PUBLIC_IPV4: readonly (readonly [string, number])[] = [
  ['0.0.0.0', 8], // "this network", includes the unspecified address
  ['10.0.0.0', 8], // RFC 1918
  ['100.64.0.0', 10], // RFC 6598 carrier-grade NAT
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local
  ['172.16.0.0', 12], // RFC 1918
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // TEST-NET-1
  ['192.88.99.0', 24], // deprecated 6to4 relay anycast
  ['192.168.0.0', 16], // RFC 1918
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // TEST-NET-2
  ['203.0.113.0', 24], // TEST-NET-3
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, includes the limited broadcast 255.255.255.255
];

const NON_PUBLIC_IPV6: readonly (readonly [string, number])[] = [
  ['::', 96], // unspecified, loopback and the deprecated IPv4-compatible addresses
  ['64:ff9b:1::', 48], // RFC 8215 local-use NAT64
  ['100::', 64], // discard-only
  ['2001:db8::', 32], // documentation
  ['3fff::', 20], // documentation (RFC 9637)
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['fec0::', 10], // deprecated site-local
  ['ff00::', 8], // multicast
];

/** RFC 6052 well-known NAT64 prefix: the last 32 bits are an IPv4 address reached through a translator. */
const NAT64_PREFIX = /^64:ff9b::(?:(\d+\.\d+\.\d+\.\d+)|([0-9a-f]{1,4}):([0-9a-f]{1,4}))$/i;

function buildBlockList(): BlockList {
  const list = new BlockList();
  for (const [network, prefix] of NON_PUBLIC_IPV4) {
    list.addSubnet(network, prefix, 'ipv4');
  }
  for (const [network, prefix] of NON_PUBLIC_IPV6) {
    list.addSubnet(network, prefix, 'ipv6');
  }
  return list;
}

const nonPublic = buildBlockList();

/**
 * Whether the relay may connect to `ip` on a tenant's behalf: refuses loopback, private,
 * link-local, multicast, reserved and documentation ranges, including their IPv4-mapped
 * (`::ffff:10.0.0.1`) and NAT64 (`64:ff9b::10.0.0.1`) forms, so that a recipient domain
 * cannot point the relay at internal services (SSRF). Anything that is not an IP is refused.
 */
export function isPublicAddress(ip: string): boolean {
  const family = isIP(ip);
  // A zone index (fe80::1%eth0) only makes sense on-link.
  if (family === 0 || ip.includes('%')) {
    return false;
  }
  // BlockList matches IPv4-mapped IPv6 against the IPv4 rules itself.
  if (nonPublic.check(ip, family === 4 ? 'ipv4' : 'ipv6')) {
    return false;
  }
  const embedded = nat64Embedded(ip);
  return embedded === undefined || !nonPublic.check(embedded, 'ipv4');
}

function nat64Embedded(ip: string): string | undefined {
  const match = NAT64_PREFIX.exec(ip);
  if (match === null) {
    return undefined;
  }
  const [, dotted, high = '0', low = '0'] = match;
  if (dotted !== undefined) {
    return dotted;
  }
  const value = (parseInt(high, 16) << 16) | parseInt(low, 16);
  return [24, 16, 8, 0].map((shift) => (value >>> shift) & 0xff).join('.');
}

/**
 * The IP address of an RFC 5321 §4.1.3 address literal (`[192.0.2.1]`, `[IPv6:2001:db8::1]`),
 * or undefined when `domain` is not one. General (tagged) literals other than IPv6 are not
 * supported and yield undefined.
 */
export function ipLiteralOf(domain: string): string | undefined {
  const match = /^\[(?:(IPv6):)?([^\]]*)\]$/i.exec(domain.trim());
  if (match === null) {
    return undefined;
  }
  const [, tag, address = ''] = match;
  if (tag === undefined) {
    return isIPv4(address) ? address : undefined;
  }
  return isIPv6(address) && !address.includes('%') ? address.toLowerCase() : undefined;
}
