import { describe, expect, it } from 'vitest';
import { classifyHost, hostMatches, normalizeHost, parseUrl } from '../../src/core/net.js';

describe('normalizeHost', () => {
  it.each([
    ['ExAmple.COM.', 'example.com'],
    ['[::1]', '::1'],
    ['2130706433', '127.0.0.1'],
    ['0x7f.1', '127.0.0.1'],
    ['0177.0.0.1', '127.0.0.1'],
    ['bücher.de', 'xn--bcher-kva.de'],
    ['', undefined],
    ['bad host', undefined],
  ])('%s → %s', (input, expected) => {
    expect(normalizeHost(input)).toBe(expected);
  });
});

describe('classifyHost', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['localhost', 'loopback'],
    ['::1', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.20.0.1', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'metadata'],
    ['metadata.google.internal', 'metadata'],
    ['169.254.10.10', 'link-local'],
    ['0.0.0.0', 'unspecified'],
    ['8.8.8.8', 'public'],
    ['attacker.com', 'public'],
  ])('%s is %s', (host, expected) => {
    expect(classifyHost(host)).toBe(expected);
  });
});

describe('hostMatches on whole labels', () => {
  it.each([
    ['example.com', 'example.com', true],
    ['api.example.com', 'example.com', true],
    ['evilexample.com', 'example.com', false],
    ['example.com.evil.io', 'example.com', false],
    ['example.com', '*.example.com', false],
    ['a.example.com', '*.example.com', true],
    ['EXAMPLE.COM.', 'example.com', true],
    ['10.2.3.4', '10.0.0.0/8', true],
    ['11.2.3.4', '10.0.0.0/8', false],
  ])('%s against %s → %s', (host, entry, expected) => {
    expect(hostMatches(host, entry)).toBe(expected);
  });
});

describe('parseUrl', () => {
  it('extracts scheme, host, port and credentials', () => {
    expect(parseUrl('https://user:pw@EXAMPLE.com:8443/x')).toMatchObject({
      scheme: 'https',
      host: 'example.com',
      port: 8443,
      hostClass: 'public',
      hasCredentials: true,
    });
    expect(parseUrl('http://169.254.169.254/latest/meta-data/')?.hostClass).toBe('metadata');
    expect(parseUrl('not a url')).toBeUndefined();
  });
});
