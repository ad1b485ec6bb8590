/**
 * Digests: parsing, validation and hashing (OCI Image Spec v1.1, "Digests"; Distribution Spec
 * v1.1 requires sha256 and allows sha512).
 */
import { createHash, type Hash } from 'node:crypto';
import { RegistryError } from './errors.js';

/** The supported digest algorithms, sha256 first (the one the spec requires). */
export const ALGORITHMS = ['sha256', 'sha512'] as const;

/** A supported digest algorithm. */
export type Algorithm = (typeof ALGORITHMS)[number];

/** A validated digest string, `algorithm:hex` with lowercase hex of the algorithm's length. */
export type Digest = string & { readonly __digest: unique symbol };

/** A digest split into its algorithm and lowercase hex encoding. */
export interface ParsedDigest {
  algorithm: Algorithm;
  hex: string;
  digest: Digest;
}

const HEX_LENGTH: Record<Algorithm, number> = { sha256: 64, sha512: 128 };
const GRAMMAR = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

/**
 * Parses and validates a digest (image-spec "Digests" grammar, then the algorithm's own rules).
 * @throws RegistryError DIGEST_INVALID when malformed or of an unsupported algorithm
 */
export function parseDigest(value: string): ParsedDigest {
  if (!GRAMMAR.test(value)) {
    throw new RegistryError('DIGEST_INVALID', { message: `invalid digest "${truncate(value)}"`, detail: { digest: truncate(value) } });
  }
  const colon = value.indexOf(':');
  const algorithm = value.slice(0, colon);
  const hex = value.slice(colon + 1);
  if (algorithm !== 'sha256' && algorithm !== 'sha512') {
    throw new RegistryError('DIGEST_INVALID', {
      message: `unsupported digest algorithm "${truncate(algorithm)}": use sha256 or sha512`,
      detail: { digest: truncate(value) },
    });
  }
  if (hex.length !== HEX_LENGTH[algorithm] || !/^[a-f0-9]+$/.test(hex)) {
    throw new RegistryError('DIGEST_INVALID', {
      message: `invalid ${algorithm} digest: expected ${HEX_LENGTH[algorithm]} lowercase hex characters`,
      detail: { digest: truncate(value) },
    });
  }
  return { algorithm, hex, digest: value as Digest };
}

/** True when `value` is a digest {@link parseDigest} accepts. */
export function isDigest(value: string): value is Digest {
  try {
    parseDigest(value);
    return true;
  } catch {
    return false;
  }
}

/** A fresh incremental hasher for `algorithm` (Node's OpenSSL-backed `crypto.Hash`). */
export function newHasher(algorithm: Algorithm): Hash {
  return createHash(algorithm);
}

/** Formats a finished hasher's result as a digest of `algorithm`. */
export function digestOf(algorithm: Algorithm, hash: Hash): Digest {
  return `${algorithm}:${hash.digest('hex')}` as Digest;
}

/** The digest of a whole in-memory buffer (only for small objects such as manifests). */
export function digestBytes(bytes: Uint8Array, algorithm: Algorithm = 'sha256'): Digest {
  return `${algorithm}:${createHash(algorithm).update(bytes).digest('hex')}` as Digest;
}

function truncate(s: string): string {
  return s.length > 200 ? `${s.slice(0, 200)}...` : s;
}
