/** The web page's pure parts: sizes, pull commands, routes, token scopes, manifest kinds. */
import { describe, expect, it } from 'vitest';
import { scopeOf } from '../../src/ui/web/api.js';
import { formatBytes, formatDuration, formatPlatform, formatTime, pullCommands, shortDigest } from '../../src/ui/web/format.js';
import { artifactKind, artifactTypeOf, kindOf } from '../../src/ui/web/image.js';
import { href, parseRoute, type Route } from '../../src/ui/web/route.js';
import { nextLast } from '../../src/ui/web/views/repositories.js';

const DIGEST = 'sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae';

describe('format', () => {
  it('shows sizes in binary units, exact below 1 KiB', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(1023)).toBe('1023 B');
    expect(formatBytes(1536)).toBe('1.50 KiB');
    expect(formatBytes(50 * 1024 * 1024)).toBe('50.0 MiB');
    expect(formatBytes(3 * 1024 ** 4)).toBe('3.00 TiB');
  });

  it('shows times in UTC, durations in words, digests short, platforms with their variant', () => {
    expect(formatTime('2025-03-04T05:06:07.890Z')).toBe('2025-03-04 05:06:07 UTC');
    expect(formatTime(null)).toBe('-');
    expect(formatDuration(0)).toBe('0 s');
    expect(formatDuration(600_000)).toBe('10 min');
    expect(formatDuration(86_400_000)).toBe('24 h');
    expect(formatDuration(30 * 86_400_000)).toBe('30 d');
    expect(shortDigest(DIGEST)).toBe('sha256:2c26b46b68ff');
    expect(formatPlatform({ os: 'linux', architecture: 'arm64', variant: 'v8' })).toBe('linux/arm64/v8');
  });

  it('gives docker, wharf and skopeo commands with the digest, insecure flags over plain HTTP only', () => {
    const plain = pullCommands('127.0.0.1:5000', 'team/app', DIGEST, false);
    expect(plain).toEqual([
      { tool: 'docker', command: `docker pull 127.0.0.1:5000/team/app@${DIGEST}` },
      { tool: 'wharf', command: `wharf pull --insecure 127.0.0.1:5000/team/app@${DIGEST} ./app` },
      { tool: 'skopeo', command: `skopeo copy --src-tls-verify=false docker://127.0.0.1:5000/team/app@${DIGEST} oci-archive:app.tar` },
    ]);
    const tls = pullCommands('registry.example.com', 'app', DIGEST, true);
    expect(tls.map((c) => c.command).join('\n')).not.toMatch(/insecure|tls-verify/);
  });
});

describe('routes', () => {
  it('reads back every route it writes, names with slashes and digests included', () => {
    const routes: Route[] = [
      { view: 'repositories' },
      { view: 'storage' },
      { view: 'repository', name: 'team/sub/app' },
      { view: 'image', name: 'team/app', reference: DIGEST },
      { view: 'image', name: 'app', reference: 'v1.0' },
    ];
    for (const r of routes) expect(parseRoute(href(r))).toEqual(r);
  });

  it('falls back to the repositories for an unknown or malformed fragment', () => {
    expect(parseRoute('')).toEqual({ view: 'repositories' });
    expect(parseRoute('#/nothing/here')).toEqual({ view: 'repositories' });
    expect(parseRoute('#/r/%E0%A4%A')).toEqual({ view: 'repositories' });
    expect(parseRoute('#/i/app')).toEqual({ view: 'repositories' });
  });
});

describe('api', () => {
  it('asks for the token scope each request needs', () => {
    expect(scopeOf('/admin/v1/repositories?n=50')).toBe('registry:admin:*');
    expect(scopeOf('/v2/_catalog?n=50')).toBe('registry:catalog:*');
    expect(scopeOf(`/v2/team/app/manifests/${DIGEST}`)).toBe('repository:team/app:pull');
    expect(scopeOf('/v2/a/blobs/b/blobs/sha256:00')).toBe('repository:a:pull');
    expect(scopeOf('/v2/team/app/tags/list?n=5')).toBe('repository:team/app:pull');
    expect(scopeOf(`/v2/x/referrers/${DIGEST}`)).toBe('repository:x:pull');
  });

  it('reads the next page of a /v2/ list from its Link header', () => {
    expect(nextLast('</v2/_catalog?n=50&last=team%2Fapp>; rel="next"')).toBe('team/app');
    expect(nextLast(null)).toBeUndefined();
  });
});

describe('manifests', () => {
  const config = (mediaType: string) => ({ mediaType, digest: DIGEST, size: 2 });
  it('tells an index, an image and an artifact apart', () => {
    expect(kindOf({ manifests: [] })).toBe('index');
    expect(kindOf({ config: config('application/vnd.oci.image.config.v1+json'), layers: [] })).toBe('image');
    expect(kindOf({ config: config('application/vnd.docker.container.image.v1+json'), layers: [] })).toBe('image');
    expect(kindOf({ config: config('application/vnd.oci.empty.v1+json'), artifactType: 'application/spdx+json' })).toBe('artifact');
    expect(kindOf({ config: config('application/vnd.oci.image.config.v1+json'), artifactType: 'application/vnd.dev.sigstore.bundle.v0.3+json' })).toBe('artifact');
  });

  it('names signatures, SBOMs and attestations by their artifact type', () => {
    expect(artifactKind('application/vnd.dev.cosign.artifact.sig.v1+json')).toBe('signature');
    expect(artifactKind('application/vnd.cncf.notary.signature')).toBe('signature');
    expect(artifactKind('application/spdx+json')).toBe('SBOM');
    expect(artifactKind('application/vnd.cyclonedx+json')).toBe('SBOM');
    expect(artifactKind('application/vnd.in-toto+json')).toBe('attestation');
    expect(artifactKind('application/x-anything')).toBe('artifact');
    expect(artifactTypeOf({ config: config('application/x-config') })).toBe('application/x-config');
    expect(artifactTypeOf({ artifactType: 'a/b', config: config('application/x-config') })).toBe('a/b');
  });
});
