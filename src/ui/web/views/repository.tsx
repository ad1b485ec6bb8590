/**
 * The repository view. For an admin: the repository's figures (`GET /admin/v1/repositories/<name>`)
 * and its tags with digest, media type, platforms, size and push time (`.../tags`, filtered, sorted
 * and paginated on the server), deleting a tag or the whole repository after a confirmation. For
 * other accounts: the tag names `/v2/<name>/tags/list` gives, a page at a time.
 */
import { useState } from 'preact/hooks';
import type { Api } from '../api.js';
import { Bytes, Confirm, ErrorBox, KeyValues, Pager, SortHeader, useAsync, useCursors } from '../common.js';
import { formatPlatform, formatTime, shortDigest } from '../format.js';
import { href } from '../route.js';
import { Filter, PAGE_SIZE, RegistryNames, type RepositorySummary } from './repositories.js';

/** A row of `GET /admin/v1/repositories/<name>/tags` (docs/admin-api.md). */
export interface TagSummary {
  tag: string;
  digest: string;
  mediaType: string;
  platforms: { os: string; architecture: string; variant?: string }[];
  size: number;
  pushedAt: string;
}

/** A page of tags. */
interface TagPage {
  tags: TagSummary[];
  total: number;
  next: string | null;
}

/** The admin's tags table with delete buttons. */
function AdminTags({ api, name, onChange }: { api: Api; name: string; onChange: () => void }) {
  const [q, setQ] = useState('');
  const [sort, setSort] = useState<{ field: string; order: 'asc' | 'desc' }>({ field: 'name', order: 'asc' });
  const [deleting, setDeleting] = useState<string | undefined>();
  const [failure, setFailure] = useState<Error | undefined>();
  const pages = useCursors([q, sort.field, sort.order]);
  const list = useAsync(() => {
    const params = new URLSearchParams({ n: String(PAGE_SIZE), sort: sort.field, order: sort.order });
    if (q) params.set('q', q);
    if (pages.cursor) params.set('cursor', pages.cursor);
    return api.json<TagPage>(`/admin/v1/repositories/${name}/tags?${params}`);
  }, [name, q, sort.field, sort.order, pages.cursor]);
  const onSort = (field: string, order: 'asc' | 'desc') => setSort({ field, order });
  const remove = async (tag: string) => {
    setDeleting(undefined);
    try {
      await api.fetch(`/admin/v1/repositories/${name}/tags/${encodeURIComponent(tag)}`, { method: 'DELETE' });
      setFailure(undefined);
    } catch (err) {
      setFailure(err as Error);
    }
    list.reload();
    onChange();
  };
  const data = list.data;
  return (
    <>
      <Filter label="Filter tags" onChange={setQ} />
      {list.error && <ErrorBox error={list.error} />}
      {failure && <ErrorBox error={failure} />}
      <div class="scroll">
        <table class="list" aria-busy={list.loading}>
          <caption>{data ? `${data.total} tags${q ? ` matching “${q}”` : ''}` : 'Tags'}</caption>
          <thead>
            <tr>
              <SortHeader label="Tag" field="name" sort={sort.field} order={sort.order} onSort={onSort} />
              <th scope="col">Digest</th>
              <th scope="col">Media type</th>
              <th scope="col">Platforms</th>
              <SortHeader label="Size" field="size" sort={sort.field} order={sort.order} onSort={onSort} numeric />
              <SortHeader label="Pushed" field="pushedAt" sort={sort.field} order={sort.order} onSort={onSort} numeric />
              <th scope="col">
                <span class="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {data?.tags.map((t) => (
              <tr key={t.tag}>
                <th scope="row">
                  <a href={href({ view: 'image', name, reference: t.tag })}>{t.tag}</a>
                </th>
                <td>
                  <a href={href({ view: 'image', name, reference: t.digest })}>
                    <code title={t.digest}>{shortDigest(t.digest)}</code>
                  </a>
                </td>
                <td class="mt">{t.mediaType}</td>
                <td>{t.platforms.map(formatPlatform).join(', ') || '-'}</td>
                <td class="num">
                  <Bytes value={t.size} />
                </td>
                <td>{formatTime(t.pushedAt)}</td>
                <td>
                  <button type="button" class="danger small" onClick={() => setDeleting(t.tag)} aria-label={`Delete tag ${t.tag}`}>
                    Delete
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {data && <Pager page={pages.page} pageSize={PAGE_SIZE} shown={data.tags.length} total={data.total} hasNext={data.next !== null} onPrev={pages.prev} onNext={() => data.next && pages.next(data.next)} />}
      {deleting !== undefined && (
        <Confirm title="Delete tag" action="Delete tag" onCancel={() => setDeleting(undefined)} onConfirm={() => void remove(deleting)}>
          <p>
            Delete tag <code>{deleting}</code> of <code>{name}</code>? The manifest stays, pullable by digest, until garbage collection deletes untagged
            manifests.
          </p>
        </Confirm>
      )}
    </>
  );
}

/** The admin's figures of the repository and its delete button. */
function Summary({ api, name }: { api: Api; name: string }) {
  const [confirming, setConfirming] = useState(false);
  const [failure, setFailure] = useState<Error | undefined>();
  const summary = useAsync(() => api.json<RepositorySummary>(`/admin/v1/repositories/${name}`), [name]);
  const remove = async () => {
    setConfirming(false);
    try {
      await api.fetch(`/admin/v1/repositories/${name}`, { method: 'DELETE' });
      location.hash = href({ view: 'repositories' });
    } catch (err) {
      setFailure(err as Error);
    }
  };
  const s = summary.data;
  return (
    <>
      {summary.error && <ErrorBox error={summary.error} />}
      {failure && <ErrorBox error={failure} />}
      {s && (
        <KeyValues
          caption="Figures"
          rows={[
            ['Tags', s.tags],
            ['Manifests', s.manifests],
            ['Unique bytes', <Bytes value={s.bytes.unique} />],
            ['Shared bytes', <Bytes value={s.bytes.shared} />],
            ['Total bytes', <Bytes value={s.bytes.total} />],
            ['Last push', formatTime(s.lastPush)],
          ]}
        />
      )}
      <p>
        <button type="button" class="danger" onClick={() => setConfirming(true)}>
          Delete repository
        </button>
      </p>
      {confirming && (
        <Confirm title="Delete repository" action="Delete repository" typeToConfirm={name} onCancel={() => setConfirming(false)} onConfirm={() => void remove()}>
          <p>
            Delete <code>{name}</code> with all its tags and manifests? Its unique bytes (<Bytes value={s?.bytes.unique ?? 0} />) are freed by the next garbage collection.
          </p>
        </Confirm>
      )}
    </>
  );
}

/** The repository view. */
export function RepositoryView({ api, name }: { api: Api; name: string }) {
  const [version, setVersion] = useState(0);
  return (
    <section aria-labelledby="view-title">
      <p class="crumbs">
        <a href={href({ view: 'repositories' })}>Repositories</a> /
      </p>
      <h1 id="view-title">{name}</h1>
      {api.session.admin ? (
        <>
          <Summary key={version} api={api} name={name} />
          <AdminTags api={api} name={name} onChange={() => setVersion((v) => v + 1)} />
        </>
      ) : (
        <RegistryNames api={api} path={`/v2/${name}/tags/list`} field="tags" link={(reference) => href({ view: 'image', name, reference })} />
      )}
    </section>
  );
}
