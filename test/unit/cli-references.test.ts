/**
 * Reference mistakes named as what they are: a URL scheme (drop it; which registries get plain
 * HTTP), a second `:` in the tag (the bad tag part, not a bad repository), and a name without a
 * registry that went to Docker Hub (it means docker.io/..., try localhost:5000/...).
 */
import { describe, expect, it } from 'vitest';
import { describeFailure, location } from '../../src/cli/client-common.js';
import { NetworkError } from '../../src/client/transport.js';

function failure(value: string): string | undefined {
  try {
    location(value);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

const hubUnknown = () => new NetworkError('HOST_UNKNOWN', 'getaddrinfo ENOTFOUND registry-1.docker.io', false, undefined, 'registry-1.docker.io');

describe('reference mistakes', () => {
  it('a URL scheme: drop it, and how wharf picks HTTP or HTTPS', () => {
    expect(failure('http://localhost:5000/team/hello:1.0')).toBe(
      'invalid image reference "http://localhost:5000/team/hello:1.0": drop the scheme http:// and write localhost:5000/team/hello:1.0: ' +
        'wharf uses plain HTTP for loopback registries (localhost, 127.0.0.0/8, ::1) and for those given --insecure, HTTPS for the rest',
    );
  });

  it('a second ":" names the bad tag part', () => {
    expect(failure('hello:1.0:2')).toBe('invalid image reference "hello:1.0:2": invalid tag "1.0:2": a tag has no ":" (letters, digits, _ . -, up to 128, e.g. hello:1.0)');
    expect(failure('localhost:5000/team/hello:1.0:2')).toContain('invalid tag "1.0:2"');
    expect(failure('localhost:5000/team/hello:1.0')).toBeUndefined();
  });

  it('Docker Hub unknown for a name without a registry: it means docker.io/..., for a local registry write localhost:5000/...', async () => {
    const { ref } = location('team/hello:1.0') as { ref: { repository: string } };
    const line = await describeFailure(hubUnknown(), undefined, { registry: 'docker.io', repository: ref.repository, reference: '1.0' });
    expect(line).toMatch(/^unknown host registry-1\.docker\.io: check the registry name \(.*\); team\/hello:1\.0 names no registry, so it means docker\.io\/team\/hello: for a local registry write localhost:5000\/team\/hello:1\.0$/);
  });

  it('no such hint when the reference named docker.io itself', async () => {
    const { ref } = location('docker.io/other/app:1') as { ref: { repository: string } };
    const line = await describeFailure(hubUnknown(), undefined, { registry: 'docker.io', repository: ref.repository, reference: '1' });
    expect(line).not.toContain('localhost:5000');
  });
});
