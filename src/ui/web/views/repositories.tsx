/**
 * The repositories view. For an admin: the admin index's list (`GET /admin/v1/repositories`) with
 * tags, manifests, unique/shared/total bytes and last push, filtered, sorted and paginated on the
 * server (one request per page, cursor pagination). For other accounts: the names `_catalog` shows
 * them, a page at a time (`n`, `last`), filtered within the page.
 */
import { useEffect, useState } from 'preact/hooks';
import type { Api } from '../api.js';
import { Bytes, ErrorBox, Pager, SortHeader, useAsync, useCursors } from '../common.js';
import { formatTime } from '../format.js';
import { href } from '../route.js';

/** Rows per page. */
export const PAGE_SIZE = 50;

/** A row of `GET /admin/v1/repositories` (docs/admin-api.md). */
export interface RepositorySummary {
  name: string;
  tags: number;
  manifests: number;
  bytes: { unique: number; shared: number; total: number };
  lastPush: string | null;
}

/** A page of `GET /admin/v1/repositories`. */
export interface RepositoryPage {
  repositories: RepositorySummary[];
  total: number;
  next: string | null;
}

/** A search box that reports its text after typing pauses (250 ms). */
export function Filter({ label, onChange }: { label: string; onChange: (q: string) => void }) {
  const [text, setText] = useState('');
  useEffect(() => {
    const t = setTimeout(() => onChange(text.trim()), 250);
    return () => clearTimeout(t);
  }, [text]);
  return (
    <label class="filter">
      {label}
      <input type="search" value={text} onInput={(e) => setText((e.target as HTMLInputElement).value)} placeholder="name contains…" />
    </label>
  );
}

/** The admin's table: server-side filter, sort and cursor pages. */
function AdminRepositories({ api }: { api: Api }) {
  const [q, setQ] = useState('');
  const [sort, setSort] = useState<{ field: string; order: 'asc' | 'desc' }>({ field: 'name', order: 'asc' });
  const pages = useCursors([q, sort.field, sort.order]);
  const list = useAsync(() => {
    const params = new URLSearchParams({ n: String(PAGE_SIZE), sort: sort.field, order: sort.order });
    if (q) params.set('q', q);
    if (pages.cursor) params.set('cursor', pages.cursor);
    return api.json<RepositoryPage>(`/admin/v1/repositories?${params}`);
  }, [q, sort.field, sort.order, pages.cursor]);
  const onSort = (field: string, order: 'asc' | 'desc') => setSort({ field, order });
  const header = (label: string, field: string, numeric = true) => <SortHeader label={label} field={field} sort={sort.field} order={sort.order} onSort={onSort} numeric={numeric} />;
  const data = list.data;
  return (
    <>
      <Filter label="Filter repositories" onChange={setQ} />
      {list.error && <ErrorBox error={list.error} />}
      <div class="scroll">
        <table class="list" aria-busy={list.loading}>
          <caption>{data ? `${data.total} repositories${q ? ` matching “${q}”` : ''}` : 'Repositories'}</caption>
          <thead>
            <tr>
              {header('Name', 'name', false)}
              {header('Tags', 'tags')}
              {header('Manifests', 'manifests')}
              {header('Unique', 'unique')}
              {header('Shared', 'shared')}
              {header('Total', 'total')}
              {header('Last push', 'lastPush')}
            </tr>
          </thead>
          <tbody>
            {data?.repositories.map((r) => (
              <tr key={r.name}>
                <th scope="row">
                  <a href={href({ view: 'repository', name: r.name })}>{r.name}</a>
                </th>
                <td class="num">{r.tags}</td>
                <td class="num">{r.manifests}</td>
                <td class="num">
                  <Bytes value={r.bytes.unique} />
                </td>
                <td class="num">
                  <Bytes value={r.bytes.shared} />
                </td>
                <td class="num">
                  <Bytes value={r.bytes.total} />
                </td>
                <td>{formatTime(r.lastPush)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {data && <Pager page={pages.page} pageSize={PAGE_SIZE} shown={data.repositories.length} total={data.total} hasNext={data.next !== null} onPrev={pages.prev} onNext={() => data.next && pages.next(data.next)} />}
    </>
  );
}

/** The `Link: <...?n=N&last=L>; rel="next"` of a `/v2/` list: the `last` of the next page. */
export function nextLast(link: string | null): string | undefined {
  const m = link ? /[?&]last=([^&>]+)/.exec(link) : null;
  return m?.[1] ? decodeURIComponent(m[1]) : undefined;
}

/**
 * A list of names from the registry API, a page of {@link PAGE_SIZE} at a time (`n`, `last`, the
 * `Link` header), filtered within the page: the catalog for an account that is not an admin
 * (`/v2/_catalog`, `repositories`), a repository's tags (`/v2/<name>/tags/list`, `tags`).
 */
export function RegistryNames({ api, path, field, link }: { api: Api; path: string; field: 'repositories' | 'tags'; link: (name: string) => string }) {
  const [q, setQ] = useState('');
  const pages = useCursors([path]);
  const list = useAsync(async () => {
    const params = new URLSearchParams({ n: String(PAGE_SIZE) });
    if (pages.cursor) params.set('last', pages.cursor);
    const res = await api.fetch(`${path}?${params}`);
    const body = (await res.json()) as Record<string, string[] | null>;
    return { names: body[field] ?? [], next: nextLast(res.headers.get('Link')) };
  }, [path, pages.cursor]);
  const names = list.data?.names.filter((n) => n.includes(q)) ?? [];
  return (
    <>
      <Filter label="Filter this page" onChange={setQ} />
      {list.error && <ErrorBox error={list.error} />}
      <ul class="names" aria-busy={list.loading}>
        {names.map((n) => (
          <li key={n}>
            <a href={link(n)}>{n}</a>
          </li>
        ))}
      </ul>
      {list.data && <Pager page={pages.page} pageSize={PAGE_SIZE} shown={list.data.names.length} hasNext={list.data.next !== undefined} onPrev={pages.prev} onNext={() => list.data?.next && pages.next(list.data.next)} />}
    </>
  );
}

/** The repositories view. */
export function RepositoriesView({ api }: { api: Api }) {
  return (
    <section aria-labelledby="view-title">
      <h1 id="view-title">Repositories</h1>
      {api.session.admin ? <AdminRepositories api={api} /> : <RegistryNames api={api} path="/v2/_catalog" field="repositories" link={(name) => href({ view: 'repository', name })} />}
    </section>
  );
}
