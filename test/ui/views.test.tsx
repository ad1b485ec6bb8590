// @vitest-environment happy-dom
/**
 * The page's views rendered in a DOM (happy-dom) from fixed answers of the admin and registry APIs:
 * registry data (labels, annotations, history) appears as text and never becomes elements; sort
 * headers and pages become the admin API's `sort`, `order` and `cursor`; deleting a tag asks first;
 * an account that is not an admin gets no delete buttons and lists from `/v2/`.
 */
import { describe, expect, it, vi } from 'vitest';
import { ImageView } from '../../src/ui/web/views/image.js';
import { RepositoriesView } from '../../src/ui/web/views/repositories.js';
import { RepositoryView } from '../../src/ui/web/views/repository.js';
import { FixedApi, mount } from './dom.js';

const HOSTILE = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">';
const D = (c: string) => `sha256:${c.repeat(64)}`;


const manifest = {
  schemaVersion: 2,
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: D('c'), size: 300 },
  layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: D('l'), size: 4096 }],
  annotations: { 'org.example.note': HOSTILE },
};
const config = {
  created: '2025-01-01T00:00:00Z',
  os: 'linux',
  architecture: 'amd64',
  config: { Entrypoint: ['/app'], Cmd: ['--serve'], WorkingDir: '/srv', User: 'app', Env: ['MODE=prod'], Labels: { evil: HOSTILE } },
  history: [{ created: '2025-01-01T00:00:00Z', created_by: `RUN echo ${HOSTILE}` }],
};
const referrers = {
  schemaVersion: 2,
  manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: D('s'), size: 500, artifactType: 'application/vnd.dev.cosign.artifact.sig.v1+json', annotations: { who: HOSTILE } }],
};

describe('the image view', () => {
  it('shows config, layers, referrers and pull commands, with hostile labels and annotations as text', async () => {
    const api = new FixedApi({ '/v2/team/app/manifests/v1': manifest, [`/v2/team/app/blobs/${D('c')}`]: config, [`/v2/team/app/referrers/${D('a')}`]: referrers });
    const el = mount(<ImageView api={api} name="team/app" reference="v1" />);
    await vi.waitFor(() => expect(el.textContent).toContain('Referrers (1)'));
    await vi.waitFor(() => expect(el.textContent).toContain('MODE=prod'));
    const text = el.textContent ?? '';
    for (const part of ['/app', '--serve', '/srv', 'signature', 'application/vnd.dev.cosign.artifact.sig.v1+json', '1 layer,', 'linux/amd64']) expect(text).toContain(part);
    expect(text.split(HOSTILE).length - 1).toBe(4); // label, manifest annotation, referrer annotation, history (the manifest text holds it JSON-escaped)
    expect(el.querySelectorAll('script, img').length).toBe(0);
    expect((globalThis as { __pwned?: number }).__pwned).toBeUndefined();
    const commands = [...el.querySelectorAll<HTMLInputElement>('.copy input')].map((i) => i.value);
    expect(commands).toHaveLength(3);
    for (const c of commands) expect(c).toContain(`/team/app@${D('a')}`);
  });

  it('lists the platforms of an image index with links to each image', async () => {
    const index = {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: D('1'), size: 400, platform: { os: 'linux', architecture: 'amd64' } },
        { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: D('2'), size: 400, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
      ],
    };
    const api = new FixedApi({ '/v2/multi/manifests/2.0': index, [`/v2/multi/referrers/${D('a')}`]: { manifests: [] } });
    const el = mount(<ImageView api={api} name="multi" reference="2.0" />);
    await vi.waitFor(() => expect(el.textContent).toContain('linux/arm64/v8'));
    expect(el.textContent).toContain('linux/amd64');
    expect([...el.querySelectorAll('a')].map((a) => a.getAttribute('href'))).toContain(`#/i/multi/${encodeURIComponent(D('2'))}`);
  });
});

describe('the repositories view', () => {
  const page = {
    repositories: [{ name: 'team/app', tags: 3, manifests: 4, bytes: { unique: 1024, shared: 2048, total: 3072 }, lastPush: '2025-01-01T00:00:00Z' }],
    total: 120,
    next: 'CURSOR2',
  };
  it('sorts and pages on the server', async () => {
    const api = new FixedApi({ '/admin/v1/repositories': page });
    const el = mount(<RepositoriesView api={api} />);
    await vi.waitFor(() => expect(el.textContent).toContain('120 repositories'));
    expect(el.textContent).toContain('3.00 KiB');
    expect(api.calls.at(-1)!.path).toBe('/admin/v1/repositories?n=50&sort=name&order=asc');
    const total = [...el.querySelectorAll<HTMLButtonElement>('button.sort')].find((b) => b.textContent?.startsWith('Total'))!;
    total.click();
    await vi.waitFor(() => expect(api.calls.at(-1)!.path).toBe('/admin/v1/repositories?n=50&sort=total&order=desc'));
    await vi.waitFor(() => expect(el.querySelector('th[aria-sort="descending"]')?.textContent).toContain('Total'));
    [...el.querySelectorAll<HTMLButtonElement>('.pager button')].find((b) => b.textContent?.includes('Next'))!.click();
    await vi.waitFor(() => expect(api.calls.at(-1)!.path).toBe('/admin/v1/repositories?n=50&sort=total&order=desc&cursor=CURSOR2'));
  });

  it('lists the catalog for an account that is not an admin', async () => {
    const api = new FixedApi({ '/v2/_catalog': { repositories: ['public/a', 'public/b'] } }, { auth: 'token', account: 'bob', admin: false });
    const el = mount(<RepositoriesView api={api} />);
    await vi.waitFor(() => expect(el.textContent).toContain('public/b'));
    expect(api.calls.every((c) => !c.path.startsWith('/admin/'))).toBe(true);
  });
});

describe('the repository view', () => {
  const tags = { name: 'team/app', tags: [{ tag: 'v1', digest: D('a'), mediaType: 'application/vnd.oci.image.manifest.v1+json', platforms: [{ os: 'linux', architecture: 'amd64' }], size: 5000, pushedAt: '2025-01-01T00:00:00Z' }], total: 1, next: null };
  const summary = { name: 'team/app', tags: 1, manifests: 1, bytes: { unique: 5000, shared: 0, total: 5000 }, lastPush: null };

  it('deletes a tag only after a confirmation', async () => {
    const api = new FixedApi({ '/admin/v1/repositories/team/app/tags': tags, '/admin/v1/repositories/team/app': summary });
    const el = mount(<RepositoryView api={api} name="team/app" />);
    await vi.waitFor(() => expect(el.textContent).toContain('linux/amd64'));
    el.querySelector<HTMLButtonElement>('button[aria-label="Delete tag v1"]')!.click();
    await vi.waitFor(() => expect(el.querySelector('dialog')).not.toBeNull());
    expect(api.calls.some((c) => c.method === 'DELETE')).toBe(false);
    [...el.querySelectorAll<HTMLButtonElement>('dialog button')].find((b) => b.textContent === 'Delete tag')!.click();
    await vi.waitFor(() => expect(api.calls.filter((c) => c.method === 'DELETE').map((c) => c.path)).toEqual(['/admin/v1/repositories/team/app/tags/v1']));
  });

  it('asks for the repository name before deleting a repository', async () => {
    const api = new FixedApi({ '/admin/v1/repositories/team/app/tags': tags, '/admin/v1/repositories/team/app': summary });
    const el = mount(<RepositoryView api={api} name="team/app" />);
    await vi.waitFor(() => expect(el.textContent).toContain('Unique bytes'));
    [...el.querySelectorAll<HTMLButtonElement>('button')].find((b) => b.textContent === 'Delete repository')!.click();
    await vi.waitFor(() => expect(el.querySelector('dialog input')).not.toBeNull());
    const confirm = [...el.querySelectorAll<HTMLButtonElement>('dialog button')].find((b) => b.textContent === 'Delete repository')!;
    expect(confirm.disabled).toBe(true);
    const input = el.querySelector<HTMLInputElement>('dialog input')!;
    input.value = 'team/app';
    input.dispatchEvent(new Event('input', { bubbles: true }));
    await vi.waitFor(() => expect(confirm.disabled).toBe(false));
    confirm.click();
    await vi.waitFor(() => expect(api.calls.some((c) => c.method === 'DELETE' && c.path === '/admin/v1/repositories/team/app')).toBe(true));
  });

  it('offers no delete to an account that is not an admin, and lists tags from /v2/', async () => {
    const api = new FixedApi({ '/v2/team/app/tags/list': { name: 'team/app', tags: ['v1', 'v2'] } }, { auth: 'basic', account: 'bob', admin: false });
    const el = mount(<RepositoryView api={api} name="team/app" />);
    await vi.waitFor(() => expect(el.textContent).toContain('v2'));
    expect([...el.querySelectorAll('button')].filter((b) => /delete/i.test(b.textContent ?? ''))).toHaveLength(0);
    expect(api.calls.every((c) => !c.path.startsWith('/admin/'))).toBe(true);
  });
});
