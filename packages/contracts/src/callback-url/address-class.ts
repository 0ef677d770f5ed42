import { BlockList, isIP } from 'node:net';

/**
 * Where an IP address points, for SSRF decisions: a webhook must never let a client make the worker call
 * into its own network (metadata service, internal APIs) unless the operator allows it.
 */
export type AddressClass = 'public' | 'loopback' | 'private' | 'link-local' | 'unspecified' | 'multicast' | 'reserved';

type Range = [network: string, prefix: number, kind: Exclude<AddressClass, 'public'>];

const IPV4_RANGES: Range[] = [
  ['0.0.0.0', 8, 'unspecified'],
  ['10.0.0.0', 8, 'private'],
  ['100.64.0.0', 10, 'private'], // carrier-grade NAT
  ['127.0.0.0', 8, 'loopback'],
  ['169.254.0.0', 16, 'link-local'], // includes the cloud metadata service 169.254.169.254
  ['172.16.0.0', 12, 'private'],
  ['192.0.0.0', 24, 'reserved'],
  ['192.0.2.0', 24, 'reserved'],
  ['192.88.99.0', 24, 'reserved'],
  ['192.168.0.0', 16, 'private'],
  ['198.18.0.0', 15, 'reserved'],
  ['198.51.100.0', 24, 'reserved'],
  ['203.0.113.0', 24, 'reserved'],
  ['224.0.0.0', 4, 'multicast'],
  ['240.0.0.0', 4, 'reserved'], // includes broadcast 255.255.255.255
];

const IPV6_RANGES: Range[] = [
  ['::', 128, 'unspecified'],
  ['::1', 128, 'loopback'],
  ['fc00::', 7, 'private'], // unique local
  ['fe80::', 10, 'link-local'],
  ['fec0::', 10, 'reserved'], // deprecated site-local
  ['ff00::', 8, 'multicast'],
  ['100::', 64, 'reserved'], // discard
  ['2001:db8::', 32, 'reserved'], // documentation
  ['2001::', 23, 'reserved'], // IETF protocol assignments (Teredo, ORCHID…)
  ['2002::', 16, 'reserved'], // 6to4 can tunnel to any IPv4, including private ones
];

function buildLists(ranges: Range[], family: 'ipv4' | 'ipv6'): Map<Range[2], BlockList> {
  const lists = new Map<Range[2], BlockList>();
  for (const [network, prefix, kind] of ranges) {
    let list = lists.get(kind);
    if (!list) {
      list = new BlockList();
      lists.set(kind, list);
    }
    list.addSubnet(network, prefix, family);
  }
  return lists;
}

const V4 = buildLists(IPV4_RANGES, 'ipv4');
const V6 = buildLists(IPV6_RANGES, 'ipv6');

/** The IPv4 address inside an IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible or NAT64 (64:ff9b::/96) one. */
function embeddedIpv4(address: string): string | undefined {
  const lower = address.toLowerCase();
  const dotted = /^(?:::ffff:|::|64:ff9b::)(\d{1,3}(?:\.\d{1,3}){3})$/.exec(lower);
  if (dotted) return dotted[1];
  const hex = /^(?:::ffff:|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower);
  if (hex?.[1] && hex[2]) {
    const hi = Number.parseInt(hex[1], 16);
    const lo = Number.parseInt(hex[2], 16);
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  return undefined;
}

/** Classifies a literal IP address; throws TypeError for anything that is not one. */
export function classifyAddress(raw: string): AddressClass {
  const address = raw.startsWith('[') && raw.endsWith(']') ? raw.slice(1, -1) : raw;
  const family = isIP(address);
  if (family === 4) {
    for (const [kind, list] of V4) if (list.check(address, 'ipv4')) return kind;
    return 'public';
  }
  if (family === 6) {
    const inner = embeddedIpv4(address);
    if (inner && isIP(inner) === 4) {
      const kind = classifyAddress(inner);
      // ::a.b.c.d (compatible) with a public inner address is still not routable as such.
      return kind;
    }
    for (const [kind, list] of V6) if (list.check(address, 'ipv6')) return kind;
    return 'public';
  }
  throw new TypeError(`not an IP address: ${raw}`);
}

/**
 * Whether a callback may go to an address of this class. `allowPrivate` (CALLBACK_ALLOW_PRIVATE) opens loopback
 * and private ranges for on-premises receivers and tests; link-local (cloud metadata), unspecified, multicast
 * and reserved ranges stay closed whatever the config.
 */
export function isAllowedCallbackAddress(kind: AddressClass, allowPrivate: boolean): boolean {
  if (kind === 'public') return true;
  return allowPrivate && (kind === 'loopback' || kind === 'private');
}
