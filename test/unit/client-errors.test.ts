/** The client commands' one-line errors, from the client's typed errors. */
import { describe, expect, it } from 'vitest';
import { describeError } from '../../src/cli/client-errors.js';
import { ClientError, RegistryClientError } from '../../src/client/errors.js';
import { NetworkError, Transport } from '../../src/client/transport.js';

const req = (url: string) => ({ method: 'GET', url });

describe('describeError', () => {
  const ctx = { registry: 'r.example.com', repository: 'team/app', reference: '1.0' };
  it('tells to log in on 401 and names the missing tag on 404', () => {
    expect(describeError(new RegistryClientError(401, [{ code: 'UNAUTHORIZED', message: 'authentication required' }], req('https://r.example.com/v2/team/app/manifests/1.0')), ctx)).toBe(
      'unauthorized: r.example.com refused access to team/app: run wharf login r.example.com',
    );
    expect(describeError(new RegistryClientError(404, [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown' }], req('https://r.example.com/v2/team/app/manifests/1.0')), ctx)).toBe(
      'manifest unknown: no tag 1.0 in team/app',
    );
    expect(describeError(new RegistryClientError(404, [{ code: 'NAME_UNKNOWN', message: '' }], req('https://r.example.com/v2/team/app/tags/list')), ctx)).toBe(
      'repository unknown: r.example.com has no repository team/app',
    );
  });

  it('names network failures and keeps hints', () => {
    expect(describeError(new NetworkError('CONNECTION_FAILED', 'GET http://127.0.0.1:1/v2/: connection refused by 127.0.0.1:1', false, undefined), { registry: '127.0.0.1:1' })).toBe(
      'cannot connect to 127.0.0.1:1: connection refused (is the registry running, and is the address right?)',
    );
    expect(describeError(new NetworkError('HOST_UNKNOWN', 'GET https://x.invalid/v2/: unknown host x.invalid', false, undefined), { registry: 'x.invalid' })).toMatch(/^unknown host x\.invalid: check the registry name/);
    expect(describeError(new ClientError('INVALID_IMAGE', 'a.txt is not an image tarball', { hint: 'give a docker save tarball' }))).toBe('a.txt is not an image tarball: give a docker save tarball');
  });

  it('names the host that failed, not the command\'s first registry (copy to a second registry, a realm elsewhere)', async () => {
    const transport = new Transport();
    const failure = async (url: string) => transport.send({ method: 'PUT', url }).then(() => undefined, (err: unknown) => err);
    try {
      expect(describeError(await failure('http://127.0.0.1:1/v2/team/app/manifests/1.0'), { registry: 'localhost:5000' })).toMatch(/^cannot connect to 127\.0\.0\.1:1: connection refused/);
      expect(describeError(await failure('https://token.invalid/token'), { registry: 'localhost:5000' })).toMatch(/^unknown host token\.invalid: /);
    } finally {
      await transport.close();
    }
  });

  it('turns a file system error into what failed and what to do, not a bare errno line', () => {
    const sys = (code: string, path: string) => Object.assign(new Error(`${code}: something, open '${path}'`), { code, syscall: 'open', path });
    expect(describeError(sys('ENOENT', '/missing/x.1a2b.partial'))).toBe('/missing/x.1a2b.partial: no such file or folder (ENOENT): check the path; a destination\'s folder must exist');
    expect(describeError(sys('ENOTDIR', '/etc/hostname/x'))).toBe('/etc/hostname/x: a part of the path is not a folder (ENOTDIR): check the path; a destination\'s folder must exist');
    expect(describeError(sys('EEXIST', '/etc/hostname'))).toBe("/etc/hostname: already exists (a file where a folder is needed?) (EEXIST): check the path; a destination's folder must exist");
    expect(describeError(sys('EACCES', '/root/x'))).toBe('/root/x: permission denied (EACCES): choose a place you may write, or change its permissions');
    expect(describeError(sys('ENOSPC', '/data/x'))).toBe('/data/x: no space left on the device (ENOSPC): free some space or choose another place');
  });
});
