/**
 * The pull-through cache view (admins only): each upstream of `GET /admin/v1/cache` with its
 * settings, its hit ratio and counters since the server started, and its health (reachable or not,
 * last contact, last error; src/proxy/health.ts). A registry without a `proxy` section answers
 * 404 UNSUPPORTED: the view says no upstream is configured.
 */
import type { UpstreamReport } from '../../../proxy/report.js';
import type { Api } from '../api.js';
import { ApiError } from '../api.js';
import { Bytes, ErrorBox, KeyValues, Refresh, useAsync } from '../common.js';
import { formatDuration, formatPercent, formatTime } from '../format.js';

/** Answering, failing (its last request failed: unreachable, or an error answer such as a 429 or wrong bytes) or not known yet, in words (a mark for the eye, never colour alone). */
export function Health({ reachable }: { reachable: boolean | null }) {
  const [state, text] = reachable === null ? ['unknown', '? not known yet'] : reachable ? ['ok', '✓ reachable'] : ['bad', '✗ failing'];
  return (
    <strong class={`state ${state}`} data-state={state}>
      {text}
    </strong>
  );
}

/** One upstream: its health, hit ratio and counters, and settings. */
function Upstream({ u }: { u: UpstreamReport }) {
  const c = u.counts;
  return (
    <section class="panel upstream" aria-labelledby={`upstream-${u.name}`}>
      <h2 id={`upstream-${u.name}`}>
        {u.name} <Health reachable={u.health.reachable} />
      </h2>
      <KeyValues
        caption="Health"
        rows={[
          ['Upstream', <code class="wrap">{u.url}</code>],
          ['Last contact', formatTime(u.health.lastContact)],
          ['Last error', u.health.lastError ? <span class="last-error">{`${formatTime(u.health.lastError.at)}: ${u.health.lastError.message}`}</span> : 'none'],
        ]}
      />
      <KeyValues
        caption="Since the server started"
        class="counts"
        rows={[
          ['Hit ratio', <span class="ratio">{u.hitRatio === null ? 'no request yet' : formatPercent(u.hitRatio)}</span>],
          ['Hits', c.hit],
          ['Misses', c.miss],
          ['Revalidated tags', c.revalidated],
          ['Stale answers', c.stale],
          ['Joined fetches', c.collapsed],
          ['Upstream errors', c.upstreamError],
          ['Failed fills', c.fillFailed],
          ['Bytes fetched', <Bytes value={c.bytesFetched} />],
        ]}
      />
      <KeyValues
        caption="Settings"
        rows={[
          ['Cached as', <code class="wrap">{`${u.prefix}/…`}</code>],
          ['Default upstream', u.default ? 'yes' : 'no'],
          ['Namespaces', u.namespaces.join(', ') || '-'],
          ['Tags checked again after', formatDuration(u.tagttlSeconds * 1000)],
        ]}
      />
    </section>
  );
}

/** The pull-through cache view. */
export function CacheView({ api }: { api: Api }) {
  const cache = useAsync(
    () =>
      api.json<{ upstreams: UpstreamReport[] }>('/admin/v1/cache').catch((e: unknown) => {
        if (e instanceof ApiError && e.status === 404 && e.code === 'UNSUPPORTED') return { upstreams: [] };
        throw e;
      }),
    [],
  );
  return (
    <section aria-labelledby="view-title">
      <h1 id="view-title">Pull-through cache</h1>
      <Refresh data={cache} />
      {cache.error && <ErrorBox error={cache.error} />}
      {cache.data?.upstreams.length === 0 && <p class="empty">No upstreams configured: this registry caches no other registry (add a proxy section to its configuration, docs/proxy.md).</p>}
      {cache.data?.upstreams.map((u) => <Upstream key={u.name} u={u} />)}
    </section>
  );
}
