import { isIP } from 'node:net';
import { z } from 'zod';
import { PhotoEnhanceError } from '../errors/errors.ts';
import { type AddressClass, classifyAddress, isAllowedCallbackAddress } from './address-class.ts';

export const MAX_CALLBACK_URL_LENGTH = 2048;

export const CallbackUrlSchema = z
  .url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
  .max(MAX_CALLBACK_URL_LENGTH);

function refused(message: string, details: Record<string, unknown>): PhotoEnhanceError {
  return new PhotoEnhanceError('INVALID_OPTIONS', `callback_url: ${message}`, {
    details: { fields: ['callback_url'], ...details },
  });
}

/** Host names that resolve to this machine without DNS (RFC 6761): treated like 127.0.0.1. */
function isLocalhostName(host: string): boolean {
  const h = host.toLowerCase().replace(/\.$/, '');
  return h === 'localhost' || h.endsWith('.localhost');
}

/**
 * Names that never point at a public receiver, refused without DNS: single-label names (resolved through the
 * search domains of the worker's own network), special-use and private-use suffixes (RFC 6761/6762, ICANN's
 * .internal — metadata.google.internal), and "wildcard DNS" names that spell a non-public IPv4 address
 * (169.254.169.254.nip.io, 10-0-0-1.sslip.io). Every other name is checked again at delivery, on each address.
 */
const PRIVATE_SUFFIXES = ['.internal', '.local', '.localdomain', '.home.arpa', '.lan', '.intranet', '.corp'];
function privateName(host: string): AddressClass | undefined {
  const h = host.toLowerCase().replace(/\.$/, '');
  if (!h.includes('.')) return 'private';
  if (PRIVATE_SUFFIXES.some((s) => h.endsWith(s))) return 'private';
  const spelled = /(?:^|[.-])(\d{1,3})[.-](\d{1,3})[.-](\d{1,3})[.-](\d{1,3})(?=[.-])/.exec(h);
  if (spelled) {
    const ip = spelled.slice(1, 5).join('.');
    if (isIP(ip) === 4) {
      const kind = classifyAddress(ip);
      if (kind !== 'public') return kind;
    }
  }
  return undefined;
}

/** The class of a URL host when it can be decided without DNS (IP literal or localhost); otherwise undefined. */
export function classifyHost(hostname: string): AddressClass | undefined {
  const bare = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  if (isIP(bare)) return classifyAddress(bare);
  if (isLocalhostName(bare)) return 'loopback';
  return privateName(bare);
}

/**
 * Checks a client-supplied callback URL before it is stored: http(s) only, no credentials, and a host that is
 * not a private/loopback/metadata address (unless allowPrivate). Names are resolved again, and every address
 * checked, right before each delivery (DNS can change in between). Throws INVALID_OPTIONS (400).
 */
export function checkCallbackUrl(raw: string, options: { allowPrivate: boolean }): URL {
  const text = raw.trim();
  // WHATWG URL parsing repairs http:///x, http:/x and http:\\x into http://x/: refuse anything but scheme://host.
  if (!/^https?:\/\/[^/\\?#]/i.test(text)) throw refused('must be an http(s) URL of the form http(s)://host/…', {});
  const parsed = CallbackUrlSchema.safeParse(text);
  if (!parsed.success) throw refused(parsed.error.issues[0]?.message ?? 'invalid URL', {});
  const url = new URL(parsed.data);
  if (url.username || url.password) throw refused('must not contain credentials', {});
  const kind = classifyHost(url.hostname);
  if (kind && !isAllowedCallbackAddress(kind, options.allowPrivate)) {
    throw refused(`${kind} addresses are not allowed`, { addressClass: kind });
  }
  return url;
}
