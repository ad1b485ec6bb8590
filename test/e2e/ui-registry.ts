/**
 * The registry the web page's browser test drives: a real `wharf serve` with token authentication
 * (an admin, `ada`, and an account that may only pull `ui/*`, `bob`), garbage collection without a
 * grace period and one retention rule, filled the ways users fill it: an image built and pushed by
 * docker carrying a hostile label, a two-platform image index and a single image copied by skopeo,
 * and a signature referring to the docker image (pushed over HTTP as cosign does), its annotation
 * hostile too.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { dockerClient } from './docker-env.js';
import { BASE_IMAGE, REPO_ROOT, run, startWharf, tempDir, type Tool, type WharfServer } from './helpers.js';
import { makeTar, OCI_CONFIG, OCI_LAYER_GZIP, OCI_MANIFEST, putBlob, sha256, writeMultiPlatformLayout } from './oci-layout.js';

/** Where the web page's browser tests write their screenshots (CI keeps the folder as an artifact). */
export const SCREENSHOTS = join(REPO_ROOT, 'test-results', 'ui');

/** Debian's headless browser, which Playwright drives. */
export const CHROMIUM: Tool = { name: 'chromium', debianPackage: 'chromium' };

/** Text that would run as script if any view rendered registry data as HTML. */
export const HOSTILE = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">';

/** The accounts and their passwords. */
export const ACCOUNTS = { ada: 'ada-ui-pw', bob: 'bob-ui-pw' } as const;

/** The cosign signature artifact type of the referrer. */
export const SIGNATURE_TYPE = 'application/vnd.dev.cosign.artifact.sig.v1+json';

/** What the fixture pushed. */
export interface UiRegistry {
  wharf: WharfServer;
  work: string;
  /** the docker image `ui/app:1.0`: its manifest digest */
  appDigest: string;
  /** the skopeo index `ui/multi:2.0` */
  indexDigest: string;
  /** the signature of `ui/app:1.0` */
  signatureDigest: string;
  /** `Authorization: Basic` of an account, for checks against the API */
  basic(account: keyof typeof ACCOUNTS): string;
  /** pushes one small image to `name` tagged with each of `tags`, in that order, a few ms apart (distinct push times) */
  pushTags(name: string, tags: string[]): Promise<void>;
  /** removes the docker images and stops the server */
  dispose(): Promise<void>;
}

/** The configuration: token mode, htpasswd written by Apache's tool, GC without grace. */
async function writeConfig(work: string): Promise<string> {
  const htpasswd = join(work, 'htpasswd');
  await run('htpasswd', ['-B', '-c', '-b', htpasswd, 'ada', ACCOUNTS.ada]);
  await run('htpasswd', ['-B', '-b', htpasswd, 'bob', ACCOUNTS.bob]);
  const file = join(work, 'wharf.yaml');
  await writeFile(
    file,
    [
      'auth:',
      '  token: {service: wharf-ui, issuer: wharf-ui}',
      `  htpasswd: {path: ${JSON.stringify(htpasswd)}}`,
      '  acl:',
      '    - {account: ada, name: "*", actions: ["*"], admin: true}',
      '    - {account: bob, name: "ui/*", actions: [pull]}',
      'gc:',
      '  grace: 0s',
      '  retention:',
      '    - {name: "ui/nightly-*", keeplast: 3, keeptags: "^v[0-9]"}',
      '',
    ].join('\n'),
  );
  return file;
}

/** Builds `ui/app:1.0` FROM the busybox base with a hostile label and pushes it with docker. */
async function dockerPush(work: string, host: string): Promise<void> {
  const docker = dockerClient(join(work, 'docker-config'));
  const context = join(work, 'app');
  await mkdir(context, { recursive: true });
  await writeFile(join(context, 'data.txt'), randomBytes(32 * 1024).toString('hex'));
  await writeFile(
    join(context, 'Dockerfile'),
    [
      `FROM ${BASE_IMAGE}`,
      'COPY data.txt /srv/data.txt',
      'ENV MODE=production',
      'WORKDIR /srv',
      'USER 1000',
      `LABEL org.example.evil=${JSON.stringify(HOSTILE)}`,
      'ENTRYPOINT ["/bin/sh", "-c"]',
      'CMD ["cat /srv/data.txt"]',
      '',
    ].join('\n'),
  );
  await docker(['build', '--network', 'none', '-t', `${host}/ui/app:1.0`, context]);
  await docker(['login', '--username', 'ada', '--password-stdin', host], { input: ACCOUNTS.ada });
  await docker(['push', `${host}/ui/app:1.0`]);
}

/** Writes an OCI layout holding one image with a random 256 KiB layer, tagged `ref`. */
async function writeSingleImage(work: string, layout: string, ref: string): Promise<void> {
  const tar = await makeTar(work, 'solo', { 'solo.bin': randomBytes(256 * 1024).toString('base64') });
  const layer = await putBlob(layout, OCI_LAYER_GZIP, gzipSync(tar));
  const config = await putBlob(layout, OCI_CONFIG, JSON.stringify({ os: 'linux', architecture: 'amd64', rootfs: { type: 'layers', diff_ids: [sha256(tar)] } }));
  const manifest = await putBlob(layout, OCI_MANIFEST, JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config, layers: [layer] }));
  await writeFile(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await writeFile(join(layout, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ ...manifest, annotations: { 'org.opencontainers.image.ref.name': ref } }] }));
}

/** Pushes a blob in one request (Distribution Spec "Pushing a blob monolithically"). */
async function pushBlob(url: string, auth: string, name: string, bytes: Buffer): Promise<{ digest: string; size: number }> {
  const digest = sha256(bytes);
  const res = await fetch(`${url}/v2/${name}/blobs/uploads/?digest=${digest}`, { method: 'POST', headers: { Authorization: auth, 'Content-Type': 'application/octet-stream' }, body: bytes });
  if (res.status !== 201) throw new Error(`blob push answered ${res.status}: ${await res.text()}`);
  return { digest, size: bytes.length };
}

/** Pushes a cosign-style signature of `subject` into `name` (an artifact manifest with a subject). */
async function pushSignature(url: string, auth: string, name: string, subject: { digest: string; size: number }): Promise<string> {
  const config = await pushBlob(url, auth, name, Buffer.from('{}'));
  const payload = await pushBlob(url, auth, name, Buffer.from(JSON.stringify({ critical: { image: { 'docker-manifest-digest': subject.digest } } })));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType: SIGNATURE_TYPE,
      config: { mediaType: 'application/vnd.oci.empty.v1+json', ...config },
      layers: [{ mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json', ...payload, annotations: { 'dev.cosignproject.cosign/signature': 'MEUCIQ' } }],
      subject: { mediaType: 'application/vnd.docker.distribution.manifest.v2+json', ...subject },
      annotations: { 'org.example.signed-by': HOSTILE },
    }),
  );
  const digest = sha256(manifest);
  const res = await fetch(`${url}/v2/${name}/manifests/${digest}`, { method: 'PUT', headers: { Authorization: auth, 'Content-Type': OCI_MANIFEST }, body: manifest });
  if (res.status !== 201) throw new Error(`signature push answered ${res.status}: ${await res.text()}`);
  return digest;
}

/** See {@link UiRegistry.pushTags}. */
async function pushTags(url: string, auth: string, name: string, tags: string[]): Promise<void> {
  const config = await pushBlob(url, auth, name, Buffer.from(JSON.stringify({ os: 'linux', architecture: 'amd64', rootfs: { type: 'layers', diff_ids: [] } })));
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: OCI_CONFIG, ...config }, layers: [] }));
  for (const tag of tags) {
    const res = await fetch(`${url}/v2/${name}/manifests/${tag}`, { method: 'PUT', headers: { Authorization: auth, 'Content-Type': OCI_MANIFEST }, body: manifest });
    if (res.status !== 201) throw new Error(`manifest push answered ${res.status}: ${await res.text()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Starts the server and pushes everything. */
export async function startUiRegistry(): Promise<UiRegistry> {
  const work = await tempDir('wharf-e2e-ui-');
  const wharf = await startWharf({ configFile: await writeConfig(work) });
  const basic = (a: keyof typeof ACCOUNTS) => `Basic ${Buffer.from(`${a}:${ACCOUNTS[a]}`).toString('base64')}`;
  const creds = `ada:${ACCOUNTS.ada}`;
  const copy = (layout: string, ref: string, to: string) => run('skopeo', ['copy', '--all', '--dest-tls-verify=false', '--dest-creds', creds, `oci:${layout}:${ref}`, `docker://${wharf.host}/${to}`]);
  await dockerPush(work, wharf.host);
  const multi = join(work, 'multi');
  const { index } = await writeMultiPlatformLayout(work, multi, '2.0');
  await copy(multi, '2.0', 'ui/multi:2.0');
  const solo = join(work, 'solo');
  await writeSingleImage(work, solo, 'old');
  await copy(solo, 'old', 'ui/solo:old');
  const head = await fetch(`${wharf.url}/v2/ui/app/manifests/1.0`, { method: 'HEAD', headers: { Authorization: basic('ada'), Accept: 'application/vnd.docker.distribution.manifest.v2+json' } });
  const appDigest = head.headers.get('docker-content-digest') ?? '';
  const signatureDigest = await pushSignature(wharf.url, basic('ada'), 'ui/app', { digest: appDigest, size: Number(head.headers.get('content-length')) });
  return {
    wharf,
    work,
    appDigest,
    indexDigest: index.digest,
    signatureDigest,
    basic,
    pushTags: (name, tags) => pushTags(wharf.url, basic('ada'), name, tags),
    async dispose() {
      await dockerClient(join(work, 'docker-config'))(['rmi', '-f', `${wharf.host}/ui/app:1.0`], { allowFailure: true });
      await wharf.dispose();
    },
  };
}
