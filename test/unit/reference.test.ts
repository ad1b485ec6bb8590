import { describe, expect, it } from 'vitest';
import { parseDigest, digestBytes, isDigest } from '../../src/oci/digest.js';
import { RegistryError } from '../../src/oci/errors.js';
import { parseRepositoryName, parseTag } from '../../src/oci/reference.js';

function code(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    return (err as RegistryError).code;
  }
}

describe('repository names', () => {
  it.each(['a', 'team/app', 'a.b_c__d---e/f', 'a/b/c/d/e/f/g/h/i/j', '0/1', 'x'.repeat(255)])('accepts %s', (name) => {
    expect(parseRepositoryName(name)).toBe(name);
  });
  it.each(['', 'A', 'a//b', '/a', 'a/', 'a..b', '_a', 'a_', 'a___b', 'a/-b', 'a b', '..', 'a/../b', 'x'.repeat(256)])('rejects %j', (name) => {
    expect(code(() => parseRepositoryName(name))).toBe('NAME_INVALID');
  });
});

describe('tags', () => {
  it.each(['latest', '1.0', 'v1.2.3-rc_1', '_x', 'A'.repeat(128)])('accepts %s', (tag) => {
    expect(parseTag(tag)).toBe(tag);
  });
  it.each(['', '.x', '-x', 'a/b', 'a:b', 'A'.repeat(129), '..'])('rejects %j', (tag) => {
    expect(code(() => parseTag(tag))).toBe('TAG_INVALID');
  });
});

describe('digests', () => {
  const sha256 = `sha256:${'0123456789abcdef'.repeat(4)}`;
  const sha512 = `sha512:${'0123456789abcdef'.repeat(8)}`;
  it('parses sha256 and sha512', () => {
    expect(parseDigest(sha256)).toEqual({ algorithm: 'sha256', hex: '0123456789abcdef'.repeat(4), digest: sha256 });
    expect(parseDigest(sha512).algorithm).toBe('sha512');
  });
  it.each([
    'sha256:' + 'A'.repeat(64),
    'sha256:' + 'a'.repeat(63),
    'sha512:' + 'a'.repeat(64),
    'md5:' + 'a'.repeat(32),
    'sha256',
    ':abc',
    'sha256:../../etc',
    '',
  ])('rejects %j with DIGEST_INVALID', (d) => {
    expect(code(() => parseDigest(d))).toBe('DIGEST_INVALID');
    expect(isDigest(d)).toBe(false);
  });
  it('names an unsupported algorithm in the message', () => {
    expect(() => parseDigest('md5:' + 'a'.repeat(32))).toThrow(/unsupported digest algorithm "md5"/);
  });
  it('hashes bytes', () => {
    expect(digestBytes(Buffer.from(''))).toBe('sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });
});
