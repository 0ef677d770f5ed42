import { describe, expect, it } from 'vitest';
import { ANONYMOUS, createTenantDirectory, ownerIdForKey } from '../../src/auth/tenants.ts';

const A = 'tenant-a-key-0123456789abcdef';
const B = 'tenant-b-key-fedcba9876543210';
const ADMIN = 'operator-key-00112233445566778899';

describe('tenant directory', () => {
  const tenants = createTenantDirectory({ API_KEYS: [A, B], ADMIN_API_KEY: ADMIN });

  it('gives each key its own stable owner id, derived from its hash and holding no part of the key', () => {
    const a = tenants.resolve(A);
    const b = tenants.resolve(B);
    expect(a?.owner).toMatch(/^key_[0-9a-f]{24}$/);
    expect(a?.owner).toBe(ownerIdForKey(A));
    expect(b?.owner).not.toBe(a?.owner);
    expect(a?.owner).not.toContain(A.slice(0, 8));
    expect(a?.admin).toBe(false);
  });

  it('refuses unknown, empty and near-miss keys', () => {
    for (const presented of [undefined, '', `${A}x`, A.slice(0, -1), A.toUpperCase()]) {
      expect(tenants.resolve(presented), String(presented)).toBeNull();
    }
  });

  it('lets a tenant see only its own records; the operator sees all; unowned records only the operator', () => {
    const a = tenants.resolve(A) ?? ANONYMOUS;
    const b = tenants.resolve(B) ?? ANONYMOUS;
    const admin = tenants.resolve(ADMIN) ?? ANONYMOUS;
    expect(admin.admin).toBe(true);
    expect(tenants.resolveAdmin(ADMIN)?.admin).toBe(true);
    expect(tenants.resolveAdmin(A)).toBeNull();
    expect(tenants.canSee(a, a.owner)).toBe(true);
    expect(tenants.canSee(b, a.owner)).toBe(false);
    expect(tenants.canSee(admin, a.owner)).toBe(true);
    expect(tenants.canSee(a, undefined)).toBe(false);
    expect(tenants.canSee(admin, undefined)).toBe(true);
  });

  it('refuses an operator key that is also a client key', () => {
    expect(() => createTenantDirectory({ API_KEYS: [A, ADMIN], ADMIN_API_KEY: ADMIN })).toThrow(/ADMIN_API_KEY/);
  });

  it('is open to everyone as one anonymous tenant without API_KEYS', () => {
    const open = createTenantDirectory({ API_KEYS: [] });
    expect(open.keysRequired).toBe(false);
    expect(open.canSee(ANONYMOUS, ownerIdForKey(A))).toBe(true);
  });
});
