import { isPhotoEnhanceError } from '@photoenhance/contracts';
import { describe, expect, it } from 'vitest';
import { classifyAddress, isAllowedCallbackAddress } from '../src/callback-url/address-class.ts';
import { checkCallbackUrl, classifyHost } from '../src/callback-url/callback-url.ts';

// Classification only: nothing here opens a connection.
describe('address classification', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['::1', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.10', 'private'],
    ['100.64.0.1', 'private'],
    ['fd12:3456::1', 'private'],
    ['169.254.169.254', 'link-local'],
    ['fe80::1', 'link-local'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'reserved'],
    ['192.0.2.5', 'reserved'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:a9fe:a9fe', 'link-local'],
    ['64:ff9b::10.0.0.1', 'private'],
    // IPv4-compatible, -translated and NAT64 forms, as URL parsing normalises them (issue 11)
    ['::127.0.0.1', 'loopback'],
    ['::7f00:1', 'loopback'],
    ['::ffff:0:127.0.0.1', 'loopback'],
    ['::ffff:0:7f00:1', 'loopback'],
    ['0:0:0:0:0:ffff:7f00:1', 'loopback'],
    ['64:ff9b:1::a9fe:a9fe', 'link-local'],
    ['::a9fe:a9fe', 'link-local'],
    ['::8.8.8.8', 'public'],
    ['8.8.8.8', 'public'],
    ['172.32.0.1', 'public'],
    ['2606:4700:4700::1111', 'public'],
  ])('%s is %s', (address, kind) => {
    expect(classifyAddress(address)).toBe(kind);
  });

  it('throws for a host name', () => {
    expect(() => classifyAddress('example.com')).toThrow(TypeError);
  });

  it('opens only loopback and private ranges with allowPrivate, never metadata or reserved ones', () => {
    expect(isAllowedCallbackAddress('public', false)).toBe(true);
    expect(isAllowedCallbackAddress('loopback', false)).toBe(false);
    expect(isAllowedCallbackAddress('private', false)).toBe(false);
    expect(isAllowedCallbackAddress('loopback', true)).toBe(true);
    expect(isAllowedCallbackAddress('private', true)).toBe(true);
    expect(isAllowedCallbackAddress('link-local', true)).toBe(false);
    expect(isAllowedCallbackAddress('unspecified', true)).toBe(false);
  });
});

describe('callback URL policy', () => {
  function refusal(url: string, allowPrivate = false): string | undefined {
    try {
      checkCallbackUrl(url, { allowPrivate });
      return undefined;
    } catch (err) {
      if (!isPhotoEnhanceError(err)) throw err;
      expect(err.code).toBe('INVALID_OPTIONS');
      return err.message;
    }
  }

  it('refuses private, loopback and metadata targets by default', () => {
    expect(refusal('http://10.0.0.5/hook')).toMatch(/private/);
    expect(refusal('http://192.168.0.10:8080/hook')).toMatch(/private/);
    expect(refusal('http://127.0.0.1:9000/hook')).toMatch(/loopback/);
    expect(refusal('http://localhost:9000/hook')).toMatch(/loopback/);
    expect(refusal('http://[::1]/hook')).toMatch(/loopback/);
    expect(refusal('http://169.254.169.254/latest/meta-data/')).toMatch(/link-local/);
    expect(refusal('http://[::ffff:7f00:1]/hook')).toMatch(/loopback/);
  });

  it('allows loopback and private targets when configured, still not metadata', () => {
    expect(refusal('http://127.0.0.1:9000/hook', true)).toBeUndefined();
    expect(refusal('http://10.0.0.5/hook', true)).toBeUndefined();
    expect(refusal('http://169.254.169.254/', true)).toMatch(/link-local/);
  });

  it('refuses non-http schemes and embedded credentials; accepts public names (checked again at send time)', () => {
    expect(refusal('ftp://example.com/x')).toBeDefined();
    expect(refusal('file:///etc/passwd')).toBeDefined();
    expect(refusal('https://user:pw@example.com/hook')).toMatch(/credentials/);
    expect(refusal('https://hooks.example.com/photo?x=1')).toBeUndefined();
    expect(classifyHost('hooks.example.com')).toBeUndefined();
  });
});
