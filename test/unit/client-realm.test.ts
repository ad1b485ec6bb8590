/** Where the client sends credentials for a token: the realm checks of `src/client/auth/realm.ts`. */
import { describe, expect, it } from 'vitest';
import { realmRefusal } from '../../src/client/auth/realm.js';
import { Transport } from '../../src/client/transport.js';

const plain = new Transport();
const insecure = new Transport({ insecure: ['reg.example:5000'] });
const allows = (t: Transport) => (host: string) => t.allowsPlainHttp(host);

describe('token realm checks', () => {
  it('allows https realms anywhere and http realms on a loopback registry', () => {
    expect(realmRefusal('registry-1.docker.io', new URL('https://auth.docker.io/token'), allows(plain))).toBeUndefined();
    expect(realmRefusal('127.0.0.1:5000', new URL('http://127.0.0.1:5000/auth/token'), allows(plain))).toBeUndefined();
    expect(realmRefusal('localhost:5000', new URL('http://127.0.0.1:5001/auth/token'), allows(plain))).toBeUndefined();
  });

  it('refuses an http realm on a non-loopback host unless that registry is --insecure', () => {
    expect(realmRefusal('reg.example:5000', new URL('http://reg.example:5000/auth/token'), allows(plain))).toBe(
      'the token realm http://reg.example:5000/auth/token is plain http: refusing to send credentials unencrypted; serve the token endpoint over https, or pass --insecure for reg.example',
    );
    expect(realmRefusal('reg.example:5000', new URL('http://reg.example:5000/auth/token'), allows(insecure))).toBeUndefined();
    expect(realmRefusal('reg.example:5000', new URL('http://reg.example:5001/token'), allows(insecure))).toBeUndefined();
  });

  it('refuses an http realm on another host than the registry, even --insecure or loopback', () => {
    const other = 'the token realm http://auth.example/token is plain http on another host than the registry reg.example:5000: refusing to send credentials there; serve the token endpoint over https';
    expect(realmRefusal('reg.example:5000', new URL('http://auth.example/token'), allows(insecure))).toBe(other);
    expect(realmRefusal('reg.example:5000', new URL('http://127.0.0.1/token'), allows(insecure))).toMatch(/on another host than the registry/);
    expect(realmRefusal('127.0.0.1:5000', new URL('http://auth.example/token'), allows(plain))).toMatch(/on another host than the registry 127.0.0.1:5000/);
  });
});
