/**
 * Token keys: the built-in token server's signing key (read from `auth.token.key`, or generated on
 * first start with mode 0600), key ids in the form Docker's libtrust gives them (which CNCF
 * Distribution's token verifier matches against a token's `kid` header), and the verification keys
 * of an external issuer (a PEM public key, a PEM certificate bundle or a JWKS file).
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, X509Certificate, type KeyObject } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError } from '../config/load.js';

/** The JWS algorithms Wharf signs and verifies with; never `none`, never an HMAC. */
export type TokenAlgorithm = 'RS256' | 'RS384' | 'RS512' | 'ES256' | 'ES384' | 'ES512';

/** A public key trusted to verify tokens, with its key id, issuer and the algorithms it may sign with. */
export interface VerificationKey {
  kid: string;
  key: KeyObject;
  algorithms: TokenAlgorithm[];
  /** the `iss` a token signed by this key must carry */
  issuer: string;
  /** true for the built-in token server's own key */
  builtIn: boolean;
}

/** The built-in token server's signing key. */
export interface SigningKey {
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  algorithm: TokenAlgorithm;
}

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/**
 * The libtrust key id of a public key: the SHA-256 of its DER SubjectPublicKeyInfo, truncated to
 * 240 bits, base32-encoded and grouped by 4 with `:` (docker/libtrust `keyIDFromCryptoKey`), e.g.
 * `ABCD:EFGH:...` (12 groups).
 */
export function libtrustKeyId(publicKey: KeyObject): string {
  const digest = createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest().subarray(0, 30);
  let bits = '';
  for (const byte of digest) bits += byte.toString(2).padStart(8, '0');
  let encoded = '';
  for (let i = 0; i < bits.length; i += 5) encoded += BASE32[parseInt(bits.slice(i, i + 5), 2)];
  return encoded.match(/.{4}/g)!.join(':');
}

/**
 * The algorithms a key may sign with: RS256/384/512 for RSA, ES256/384/512 for EC keys on P-256,
 * P-384, P-521. @returns undefined for other key types (Ed25519, DSA, ...)
 */
export function algorithmsFor(key: KeyObject): TokenAlgorithm[] | undefined {
  if (key.asymmetricKeyType === 'rsa') return ['RS256', 'RS384', 'RS512'];
  if (key.asymmetricKeyType !== 'ec') return undefined;
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (curve === 'prime256v1') return ['ES256'];
  if (curve === 'secp384r1') return ['ES384'];
  if (curve === 'secp521r1') return ['ES512'];
  return undefined;
}

/** Wraps a private key as a {@link SigningKey}. @throws ConfigError for an unsupported key type */
function signingKeyOf(privateKey: KeyObject, where: string): SigningKey {
  const algorithms = algorithmsFor(privateKey);
  if (!algorithms) {
    throw new ConfigError(`${where}: the key is ${privateKey.asymmetricKeyType ?? 'of an unknown type'}; use an RSA key (RS256) or an EC P-256 key (ES256), e.g. \`openssl ecparam -genkey -name prime256v1 -noout | openssl pkcs8 -topk8 -nocrypt\``);
  }
  const publicKey = createPublicKey(privateKey);
  return { kid: libtrustKeyId(publicKey), privateKey, publicKey, algorithm: algorithms[0]! };
}

/**
 * Reads the signing key from `path` (PEM, PKCS#8 or the traditional RSA/EC forms); when the file
 * does not exist, generates an EC P-256 key there (its directory made as needed) with mode 0600.
 * @param path the key file; undefined for a key that lives only in this process (tokens die with it)
 * @throws ConfigError naming `auth.token.key` when the file cannot be read, parsed, or written
 */
export function loadSigningKey(path: string | undefined): SigningKey {
  const where = `auth.token.key = ${JSON.stringify(path)}`;
  if (path === undefined) return signingKeyOf(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey, where);
  let pem: string | undefined;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new ConfigError(`${where}: cannot read the key (${(err as Error).message})`);
  }
  if (pem === undefined) {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    try {
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      writeFileSync(path, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' });
      chmodSync(path, 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return loadSigningKey(path);
      throw new ConfigError(`${where}: cannot write a new signing key there (${(err as Error).message}); point auth.token.key at a writable path`);
    }
    return signingKeyOf(privateKey, where);
  }
  try {
    return signingKeyOf(createPrivateKey(pem), where);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`${where}: not a PEM private key (${(err as Error).message}); remove the file to have Wharf generate one, or give an RSA or EC P-256 private key`);
  }
}

/** A JSON Web Key as a JWKS file holds it (RFC 7517). */
interface Jwk {
  kid?: unknown;
  kty?: unknown;
  use?: unknown;
  [key: string]: unknown;
}

/**
 * The verification keys of an external token issuer, from exactly one of a PEM public key, a PEM
 * certificate bundle (every certificate's key is trusted) or a JWKS file. Keys from PEM files get
 * their libtrust key id; JWKS keys keep the `kid` they have (a key without one gets its libtrust id).
 * @param source which file, keyed as in the configuration (`publickey`, `certificates`, `jwks`)
 * @throws ConfigError naming the key and the file when it cannot be read or holds no usable key
 */
export function loadExternalKeys(source: { publickey?: string; certificates?: string; jwks?: string }, issuer: string): VerificationKey[] {
  const [key, path] = (['publickey', 'certificates', 'jwks'] as const).map((k) => [k, source[k]] as const).find(([, v]) => v !== undefined) ?? [];
  if (key === undefined || path === undefined) throw new ConfigError('auth.token.external: set one of publickey, certificates or jwks');
  const where = `auth.token.external.${key} = ${JSON.stringify(path)}`;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`${where}: cannot read the file (${(err as Error).message})`);
  }
  const publicKeys: { kid?: string; key: KeyObject }[] = [];
  try {
    if (key === 'publickey') {
      publicKeys.push({ key: createPublicKey(text) });
    } else if (key === 'certificates') {
      for (const pem of text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []) {
        publicKeys.push({ key: new X509Certificate(pem).publicKey });
      }
    } else {
      const jwks = JSON.parse(text) as { keys?: Jwk[] };
      for (const jwk of jwks.keys ?? []) {
        if (jwk.use !== undefined && jwk.use !== 'sig') continue;
        publicKeys.push({ kid: typeof jwk.kid === 'string' ? jwk.kid : undefined, key: createPublicKey({ key: jwk as never, format: 'jwk' }) });
      }
    }
  } catch (err) {
    throw new ConfigError(`${where}: cannot parse the file (${(err as Error).message}); give a PEM public key, a PEM certificate bundle or a JWKS JSON file`);
  }
  const keys = publicKeys.flatMap(({ kid, key: k }) => {
    const algorithms = algorithmsFor(k);
    return algorithms ? [{ kid: kid ?? libtrustKeyId(k), key: k, algorithms, issuer, builtIn: false }] : [];
  });
  if (keys.length === 0) throw new ConfigError(`${where}: the file holds no RSA or EC (P-256, P-384, P-521) signing key`);
  return keys;
}
