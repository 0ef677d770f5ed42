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

/** The eight 16-bit groups of an IPv6 address (with or without a trailing dotted IPv4); undefined if malformed. */
function ipv6Groups(address: string): number[] | undefined {
  let text = address.toLowerCase();
  const dotted = /(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const parse = (part: string | undefined) => (part ? part.split(':').map((g) => Number.parseInt(g, 16)) : []);
  const head = parse(halves[0]);
  const tail = parse(halves[1]);
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 0) return undefined;
  return [...head, ...new Array<number>(Math.max(0, missing)).fill(0), ...tail];
}

/**
 * The IPv4 address an IPv6 one carries, in every form a stack may route to it: IPv4-mapped (::ffff:0:0/96),
 * IPv4-translated (::ffff:0:0:0/96), IPv4-compatible (::/96, deprecated but still parsed) and NAT64
 * (64:ff9b::/96, 64:ff9b:1::/48). `::` and `::1` are themselves, not IPv4.
 */
function embeddedIpv4(address: string): string | undefined {
  const g = ipv6Groups(address);
  if (!g) return undefined;
  const zeros = (from: number, to: number) => g.slice(from, to).every((x) => x === 0);
  const v4 = () => {
    const hi = g[6] as number;
    const lo = g[7] as number;
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  };
  if (zeros(0, 5) && g[5] === 0xffff) return v4(); // mapped
  if (zeros(0, 4) && g[4] === 0xffff && g[5] === 0) return v4(); // translated
  if (zeros(0, 6) && !(g[6] === 0 && (g[7] === 0 || g[7] === 1))) return v4(); // compatible
  if (g[0] === 0x64 && g[1] === 0xff9b && (zeros(2, 6) || g[2] === 1)) return v4(); // NAT64
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
