import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { classifyAddress } from './classify-address';
import type { AddressClass } from './classify-address';

export type Resolve = (host: string) => Promise<string[]>;

export interface CheckCallbackUrlOptions {
  /** WEBHOOK_ALLOW_PRIVATE_NETWORKS: skip the address checks (local/demo only). */
  allowPrivate: boolean;
  /** Accept http: as well as https:. */
  allowHttp: boolean;
  /** Host name → addresses. Defaults to the system resolver (dns.promises.lookup, all addresses). */
  resolve?: Resolve;
}

export type CallbackUrlCheck =
  { ok: true } | { ok: false; code: 'invalid_url' | 'scheme_not_allowed' | 'address_not_allowed' | 'unresolvable'; message: string };

export const systemResolve: Resolve = async (host) => {
  const results = await lookup(host, { all: true, verbatim: true });
  return results.map((r) => r.address);
};

/**
 * Strips the brackets the WHATWG parser keeps around IPv6 literals and a trailing root dot, so
 * `[::1]` and `localhost.` are checked as what they are.
 */
export function normalizeHost(hostname: string): string {
  let host = hostname;
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (host.endsWith('.') && isIP(host) === 0) host = host.slice(0, -1);
  return host.toLowerCase();
}

/** RFC 6761: `localhost` and `*.localhost` are loopback whatever DNS says. */
export function isLocalhostName(host: string): boolean {
  return host === 'localhost' || host.endsWith('.localhost');
}

/**
 * First SSRF gate, at submission time: the URL must parse (WHATWG, the same parser the delivery
 * uses, which also normalises `http://2130706433/` and `http://0x7f000001/` to 127.0.0.1), use
 * https (or http when allowed), carry no credentials, and every address its host resolves to must
 * be public. Delivery re-checks the address it actually connects to (DNS can change in between).
 * Messages name the host, never the full URL (its path or query may carry a token).
 */
export async function checkCallbackUrl(url: string, options: CheckCallbackUrlOptions): Promise<CallbackUrlCheck> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { ok: false, code: 'invalid_url', message: 'callback URL is not a valid absolute URL' };
  }
  const allowedSchemes = options.allowHttp ? ['https:', 'http:'] : ['https:'];
  if (!allowedSchemes.includes(parsed.protocol)) {
    return {
      ok: false,
      code: 'scheme_not_allowed',
      message: `callback URL scheme "${parsed.protocol.replace(/:$/, '')}" is not allowed (use ${options.allowHttp ? 'http or https' : 'https'})`,
    };
  }
  if (parsed.username !== '' || parsed.password !== '') {
    return { ok: false, code: 'invalid_url', message: 'callback URL must not contain credentials (user:password@)' };
  }
  const host = normalizeHost(parsed.hostname);
  if (host === '') return { ok: false, code: 'invalid_url', message: 'callback URL has no host' };

  let addresses: string[];
  if (isIP(host) !== 0) {
    addresses = [host];
  } else if (isLocalhostName(host)) {
    if (options.allowPrivate) return { ok: true };
    return notAllowed(host, 'loopback', 'localhost');
  } else {
    try {
      addresses = await (options.resolve ?? systemResolve)(host);
    } catch {
      return { ok: false, code: 'unresolvable', message: `callback host "${host}" does not resolve` };
    }
    if (addresses.length === 0) {
      return { ok: false, code: 'unresolvable', message: `callback host "${host}" does not resolve` };
    }
  }
  if (options.allowPrivate) return { ok: true };
  for (const address of addresses) {
    let cls: AddressClass;
    try {
      cls = classifyAddress(address);
    } catch {
      return { ok: false, code: 'unresolvable', message: `callback host "${host}" resolved to something that is not an IP address` };
    }
    if (cls !== 'public') return notAllowed(host, cls, address);
  }
  return { ok: true };
}

function notAllowed(host: string, cls: AddressClass, address: string): CallbackUrlCheck {
  const via = host === address ? ` (${address})` : ` (${host} resolves to ${address})`;
  return {
    ok: false,
    code: 'address_not_allowed',
    message: `callback URL points at a ${cls.replace('_', '-')} address${via}; only public addresses are allowed`,
  };
}
