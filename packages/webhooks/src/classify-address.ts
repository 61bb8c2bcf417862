import { isIP } from 'node:net';
import { IPv4, IPv6 } from 'ipaddr.js';
import { WebhookError } from './webhook-error';

export type AddressClass = 'public' | 'private' | 'loopback' | 'link_local' | 'cgnat' | 'metadata' | 'unspecified' | 'reserved';

/**
 * Cloud instance-metadata endpoints. Checked before the generic ranges because some sit inside
 * ranges that would otherwise read as merely link-local or CGNAT.
 */
const METADATA_ADDRESSES = new Set([
  '169.254.169.254', // AWS, GCP, Azure, OCI, DigitalOcean IMDS
  '169.254.170.2', // AWS ECS task metadata / credentials
  '100.100.100.200', // Alibaba Cloud metadata (inside 100.64/10)
  'fd00:ec2::254', // AWS IMDS over IPv6
]);

/**
 * Classifies a literal IP address (IPv4 dotted decimal, IPv6, IPv4-mapped IPv6; an IPv6 zone id
 * is ignored). Only `public` may be contacted without WEBHOOK_ALLOW_PRIVATE_NETWORKS. Anything
 * not positively global unicast is `reserved` (multicast, documentation, benchmarking, 6to4,
 * Teredo, IPv4-compatible ::a.b.c.d, site-local...): failing closed is the point.
 */
export function classifyAddress(ip: string): AddressClass {
  // node:net's parser accepts only canonical literals; ipaddr.js alone would also take
  // "0x7f.1" style IPv4, which must never reach here unnormalised.
  const version = typeof ip === 'string' ? isIP(ip) : 0;
  if (version === 0) throw new WebhookError('invalid_address', 'not an IP address literal');
  // Parse by the family node:net saw: ipaddr.parse() would turn "::a.b.c.d" into plain IPv4.
  return version === 6 ? classifyV6(IPv6.parse(ip)) : classifyV4(IPv4.parse(ip));
}

function classifyV4(addr: IPv4): AddressClass {
  if (METADATA_ADDRESSES.has(addr.toString())) return 'metadata';
  switch (addr.range()) {
    case 'unicast':
      return 'public';
    case 'unspecified': // 0.0.0.0/8: "this network"; 0.0.0.0 reaches the local host on Linux
      return 'unspecified';
    case 'private':
      return 'private';
    case 'loopback':
      return 'loopback';
    case 'linkLocal':
      return 'link_local';
    case 'carrierGradeNat':
      return 'cgnat';
    default:
      return 'reserved';
  }
}

function classifyV6(addr: IPv6): AddressClass {
  const plain = new IPv6(addr.parts); // drops any zone id
  if (METADATA_ADDRESSES.has(plain.toString())) return 'metadata';
  const range = plain.range();
  switch (range) {
    case 'ipv4Mapped': // ::ffff:a.b.c.d — the kernel connects to the IPv4 address
      return classifyV4(plain.toIPv4Address());
    case 'rfc6145': // ::ffff:0:a.b.c.d (SIIT) and 64:ff9b::a.b.c.d (NAT64) reach the embedded IPv4
    case 'rfc6052':
      return classifyV4(embeddedV4(plain));
    case 'unspecified':
      return 'unspecified';
    case 'loopback':
      return 'loopback';
    case 'linkLocal':
      return 'link_local';
    case 'uniqueLocal': // fc00::/7, the IPv6 private range
      return 'private';
    case 'unicast':
      // ipaddr.js calls everything unlisted "unicast"; only 2000::/3 is globally routed.
      return (plain.parts[0] ?? 0) >> 13 === 0b001 ? 'public' : 'reserved';
    default:
      return 'reserved';
  }
}

function embeddedV4(addr: IPv6): IPv4 {
  const hi = addr.parts[6] ?? 0;
  const lo = addr.parts[7] ?? 0;
  return new IPv4([hi >> 8, hi & 0xff, lo >> 8, lo & 0xff]);
}
