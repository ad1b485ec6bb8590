/**
 * The referrers API (end-12a/12b `GET /v2/<name>/referrers/<digest>`) and `OCI-Subject` on pushes
 * of manifests with a `subject` (Distribution Spec v1.1 "Pushing Manifests with Subject",
 * "Listing Referrers").
 */
import { expect, it } from 'vitest';
import {
  buildImage,
  buildIndex,
  EMPTY_JSON,
  EMPTY_JSON_DIGEST,
  encodeManifest,
  expectError,
  forEachDriver,
  MEDIA,
  pushBlob,
  pushImage,
  putManifest,
  randomDigest,
  raw,
  type BuiltImage,
  type Client,
  type Descriptor,
} from './harness.js';

interface Index {
  schemaVersion: number;
  mediaType: string;
  manifests: Descriptor[];
}

/** GETs the referrers of `digest` and asserts the response is an OCI image index. */
async function referrers(http: Client, name: string, digest: string, artifactType?: string): Promise<{ index: Index; filters: string | undefined }> {
  const query = artifactType === undefined ? '' : `?artifactType=${encodeURIComponent(artifactType)}`;
  const res = await raw(http.get(`/v2/${name}/referrers/${digest}${query}`));
  expect(res.status).toBe(200);
  expect(res.headers['content-type']).toBe(MEDIA.ociIndex);
  expect(res.headers['content-length']).toBe(String(res.body.length));
  const index = JSON.parse(res.body.toString('utf8')) as Index;
  expect(index.schemaVersion).toBe(2);
  expect(index.mediaType).toBe(MEDIA.ociIndex);
  return { index, filters: res.headers['oci-filters-applied'] as string | undefined };
}

/** Pushes an artifact (empty config, one layer) whose subject is `subject`; asserts 201 and OCI-Subject. */
async function pushReferrer(http: Client, name: string, subject: BuiltImage, artifactType: string, annotations?: Record<string, string>): Promise<BuiltImage> {
  await pushBlob(http, name, EMPTY_JSON);
  const image = buildImage({ emptyConfig: true, layers: 1, artifactType, annotations, subject: subject.descriptor });
  await pushBlob(http, name, image.layers[0]!.bytes);
  const res = await putManifest(http, name, image.digest, image.body);
  expect(res.status).toBe(201);
  expect(res.headers['oci-subject']).toBe(subject.digest);
  return image;
}

forEachDriver((make) => {
  it('PUT of a manifest with a subject answers OCI-Subject with the subject digest; without one, no header', async () => {
    const { http } = await make();
    const subject = await pushImage(http, 'app', 'v1');
    await pushReferrer(http, 'app', subject, 'application/vnd.example.sbom.v1');
    const plain = buildImage({ layers: 1 });
    for (const blob of [plain.config, ...plain.layers]) await pushBlob(http, 'app', blob.bytes);
    const res = await putManifest(http, 'app', 'v2', plain.body);
    expect(res.status).toBe(201);
    expect(res.headers['oci-subject']).toBeUndefined();
  });

  it('lists a referrer with mediaType, digest, size, artifactType and annotations', async () => {
    const { http } = await make();
    const subject = await pushImage(http, 'app', 'v1');
    const annotations = { 'org.opencontainers.image.created': '2024-01-01T00:00:00Z', 'org.example.format': 'spdx' };
    const sbom = await pushReferrer(http, 'app', subject, 'application/vnd.example.sbom.v1', annotations);
    const { index, filters } = await referrers(http, 'app', subject.digest);
    expect(filters).toBeUndefined();
    expect(index.manifests).toEqual([
      { mediaType: MEDIA.ociManifest, digest: sbom.digest, size: sbom.body.length, artifactType: 'application/vnd.example.sbom.v1', annotations },
    ]);
  });

  it('an image manifest without artifactType is listed with its config media type as artifactType', async () => {
    const { http } = await make();
    const subject = await pushImage(http, 'app', 'v1');
    const signature = buildImage({ layers: 1, subject: subject.descriptor });
    for (const blob of [signature.config, ...signature.layers]) await pushBlob(http, 'app', blob.bytes);
    expect((await putManifest(http, 'app', 'sig', signature.body)).headers['oci-subject']).toBe(subject.digest);
    const { index } = await referrers(http, 'app', subject.digest);
    expect(index.manifests).toEqual([{ mediaType: MEDIA.ociManifest, digest: signature.digest, size: signature.body.length, artifactType: MEDIA.ociConfig }]);
  });

  it('an index with a subject is listed, without artifactType when it has none', async () => {
    const { http } = await make();
    const subject = await pushImage(http, 'app', 'v1');
    const child = await pushImage(http, 'app', undefined, { layers: 1 });
    const index = buildIndex([child.descriptor], { subject: subject.descriptor, annotations: { 'org.example.kind': 'bundle' } });
    const res = await putManifest(http, 'app', index.digest, index.body);
    expect(res.status).toBe(201);
    expect(res.headers['oci-subject']).toBe(subject.digest);
    const typed = buildIndex([child.descriptor], { subject: subject.descriptor, artifactType: 'application/vnd.example.bundle' });
    expect((await putManifest(http, 'app', typed.digest, typed.body)).status).toBe(201);
    const listed = (await referrers(http, 'app', subject.digest)).index.manifests;
    expect(listed).toHaveLength(2);
    expect(listed).toContainEqual({ mediaType: MEDIA.ociIndex, digest: index.digest, size: index.body.length, annotations: { 'org.example.kind': 'bundle' } });
    expect(listed).toContainEqual({ mediaType: MEDIA.ociIndex, digest: typed.digest, size: typed.body.length, artifactType: 'application/vnd.example.bundle' });
  });

  it('an empty index when nothing refers to the digest, for an unknown subject and an unknown repository', async () => {
    const { http } = await make();
    const subject = await pushImage(http, 'app', 'v1');
    expect((await referrers(http, 'app', subject.digest)).index.manifests).toEqual([]);
    expect((await referrers(http, 'app', randomDigest())).index.manifests).toEqual([]);
    expect((await referrers(http, 'never/pushed', randomDigest())).index.manifests).toEqual([]);
  });

  it('accepts a referrer whose subject does not exist (yet), and lists it', async () => {
    const { http } = await make();
    const absent = buildImage({ layers: 1 });
    const sbom = await pushReferrer(http, 'app', absent, 'application/vnd.example.sbom.v1');
    expect((await referrers(http, 'app', absent.digest)).index.manifests.map((d) => d.digest)).toEqual([sbom.digest]);
    expectError(await http.get(`/v2/app/manifests/${absent.digest}`), 404, 'MANIFEST_UNKNOWN');
  });

  it('artifactType filters the list and sets OCI-Filters-Applied: artifactType', async () => {
    const { http } = await make();
    const subject = await pushImage(http, 'app', 'v1');
    const sbom = await pushReferrer(http, 'app', subject, 'application/vnd.example.sbom.v1');
    const sig = await pushReferrer(http, 'app', subject, 'application/vnd.example.signature.v1');
    const all = await referrers(http, 'app', subject.digest);
    expect(all.filters).toBeUndefined();
    expect(all.index.manifests.map((d) => d.digest).sort()).toEqual([sbom.digest, sig.digest].sort());

    const filtered = await referrers(http, 'app', subject.digest, 'application/vnd.example.sbom.v1');
    expect(filtered.filters).toBe('artifactType');
    expect(filtered.index.manifests.map((d) => d.digest)).toEqual([sbom.digest]);
    const none = await referrers(http, 'app', subject.digest, 'application/vnd.example.none');
    expect(none.filters).toBe('artifactType');
    expect(none.index.manifests).toEqual([]);
  });

  it('referrers are per repository', async () => {
    const { http } = await make();
    const subject = await pushImage(http, 'one', 'v1');
    await pushReferrer(http, 'one', subject, 'application/vnd.example.sbom.v1');
    expect((await referrers(http, 'two', subject.digest)).index.manifests).toEqual([]);
  });

  it('deleting a referrer by digest removes it from the list; deleting its tag does not', async () => {
    const { http } = await make();
    const subject = await pushImage(http, 'app', 'v1');
    const sbom = await pushReferrer(http, 'app', subject, 'application/vnd.example.sbom.v1');
    const sig = await pushReferrer(http, 'app', subject, 'application/vnd.example.signature.v1');
    await putManifest(http, 'app', 'sig-tag', sig.body).expect(201);

    await http.delete('/v2/app/manifests/sig-tag').expect(202);
    expect((await referrers(http, 'app', subject.digest)).index.manifests).toHaveLength(2);

    expect((await http.delete(`/v2/app/manifests/${sbom.digest}`)).status).toBe(202);
    expect((await referrers(http, 'app', subject.digest)).index.manifests.map((d) => d.digest)).toEqual([sig.digest]);
    await http.delete(`/v2/app/manifests/${sig.digest}`).expect(202);
    expect((await referrers(http, 'app', subject.digest)).index.manifests).toEqual([]);
  });

  it('re-pushing a referrer lists it once', async () => {
    const { http } = await make();
    const subject = await pushImage(http, 'app', 'v1');
    const sbom = await pushReferrer(http, 'app', subject, 'application/vnd.example.sbom.v1');
    expect((await putManifest(http, 'app', 'again', sbom.body)).status).toBe(201);
    expect((await referrers(http, 'app', subject.digest)).index.manifests.map((d) => d.digest)).toEqual([sbom.digest]);
  });

  it('a manifest whose subject is not a valid descriptor: 400 MANIFEST_INVALID', async () => {
    const { http } = await make();
    await pushBlob(http, 'app', EMPTY_JSON);
    const empty = { mediaType: MEDIA.ociEmpty, digest: EMPTY_JSON_DIGEST, size: 2 };
    for (const subject of [{ mediaType: MEDIA.ociManifest, digest: 'sha256:short', size: 10 }, { digest: randomDigest(), size: 10 }, 'sha256:abc']) {
      const body = encodeManifest({ schemaVersion: 2, mediaType: MEDIA.ociManifest, config: empty, layers: [empty], subject });
      expectError(await putManifest(http, 'app', 'bad', body), 400, 'MANIFEST_INVALID');
    }
  });

  it('a malformed digest answers 400 DIGEST_INVALID; an invalid name 400 NAME_INVALID', async () => {
    const { http } = await make();
    expectError(await http.get('/v2/app/referrers/sha256:abc'), 400, 'DIGEST_INVALID');
    expectError(await http.get('/v2/app/referrers/latest'), 400, 'DIGEST_INVALID');
    expectError(await http.get(`/v2/App/referrers/${randomDigest()}`), 400, 'NAME_INVALID');
  });

  it('accepts only GET and HEAD: 405 with Allow', async () => {
    const { http } = await make();
    const res = await http.delete(`/v2/app/referrers/${randomDigest()}`);
    expectError(res, 405, 'UNSUPPORTED');
    expect(res.headers.allow).toBe('GET, HEAD');
    const head = await http.head(`/v2/app/referrers/${randomDigest()}`);
    expect(head.status).toBe(200);
    expect(head.headers['content-type']).toBe('application/vnd.oci.image.index.v1+json');
  });
});
