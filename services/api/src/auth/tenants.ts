import { createHash, timingSafeEqual } from 'node:crypto';
import type { OwnerId } from '@photoenhance/contracts';
import type { ApiConfig } from '../config.ts';

/**
 * Who is calling. Each of API_KEYS is its own tenant; ADMIN_API_KEY is the operator. Without API_KEYS the API is
 * open and every caller is the one anonymous tenant (the single-machine default).
 */
export interface Tenant {
  /** Stored on what the caller creates; undefined when the API runs without keys. */
  owner: OwnerId | undefined;
  /** The operator key: sees every tenant's tasks and reaches the operator routes. */
  admin: boolean;
}

export const ANONYMOUS: Tenant = { owner: undefined, admin: false };

interface KnownKey {
  /** SHA-256 of the key: what a presented key is compared with. */
  digest: Buffer;
  tenant: Tenant;
}

function sha256(value: string | Buffer): Buffer {
  return createHash('sha256').update(value).digest();
}

/**
 * The owner id a key's records carry: a hash of the key's SHA-256, so neither the key nor the digest it is
 * compared with is ever written to storage or logs.
 */
export function ownerIdForKey(key: string): OwnerId {
  return `key_${sha256(Buffer.concat([Buffer.from('photoenhance-owner:'), sha256(key)]))
    .toString('hex')
    .slice(0, 24)}`;
}

export interface TenantDirectory {
  /** Whether client keys are configured (tenants are isolated); false = open, anonymous service. */
  readonly keysRequired: boolean;
  /** The tenant of a presented key; null for a missing or unknown key. */
  resolve(presented: string | undefined): Tenant | null;
  /** The admin key's tenant only (operator routes); null otherwise. */
  resolveAdmin(presented: string | undefined): Tenant | null;
  /** Whether `tenant` may see something owned by `owner`. */
  canSee(tenant: Tenant, owner: OwnerId | undefined): boolean;
}

/**
 * Keys are kept only as SHA-256 digests: a presented key is hashed and compared with every digest in constant
 * time (equal-length buffers, no early exit), so timing tells nothing about which key, if any, was close.
 */
export function createTenantDirectory(config: Pick<ApiConfig, 'API_KEYS' | 'ADMIN_API_KEY'>): TenantDirectory {
  if (config.ADMIN_API_KEY && config.API_KEYS.includes(config.ADMIN_API_KEY)) {
    // An operator key that is also a client key would make every client holding it an operator by accident.
    throw new Error('ADMIN_API_KEY must not also be one of API_KEYS');
  }
  const clients: KnownKey[] = config.API_KEYS.map((key) => ({
    digest: sha256(key),
    tenant: { owner: ownerIdForKey(key), admin: false },
  }));
  const admin: KnownKey | undefined = config.ADMIN_API_KEY
    ? { digest: sha256(config.ADMIN_API_KEY), tenant: { owner: ownerIdForKey(config.ADMIN_API_KEY), admin: true } }
    : undefined;
  const all = admin ? [...clients, admin] : clients;

  const match = (presented: string | undefined, candidates: readonly KnownKey[]): Tenant | null => {
    if (!presented) return null;
    const digest = sha256(presented);
    let found: Tenant | null = null;
    for (const known of candidates) {
      if (timingSafeEqual(digest, known.digest)) found = known.tenant;
    }
    return found;
  };

  return {
    keysRequired: clients.length > 0,
    resolve: (presented) => match(presented, all),
    resolveAdmin: (presented) => (admin ? match(presented, [admin]) : null),
    canSee(tenant, owner) {
      if (tenant.admin || clients.length === 0) return true;
      return owner !== undefined && owner === tenant.owner;
    },
  };
}
