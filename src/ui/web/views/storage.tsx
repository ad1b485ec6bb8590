/**
 * The storage and cleanup view (admins only): storage totals (`/admin/v1/storage`), the admin
 * index's state, the garbage collection settings and retention rules in force
 * (`/admin/v1/retention`), a dry run ("what would be freed") and a real run started from the page
 * (`POST /admin/v1/gc`) and followed until it ends (`GET /admin/v1/gc/<id>` each second, with its
 * phase and counts so far), and the
 * history of runs with their reports (`GET /admin/v1/gc`).
 */
import { useEffect, useState } from 'preact/hooks';
import type { GcProgress, GcReport, GcRunRecord as GcRun } from '../../../gc/report.js';
import type { Api } from '../api.js';
import { Bytes, Confirm, ErrorBox, KeyValues, useAsync } from '../common.js';
import { formatDuration, formatTime } from '../format.js';

/** `GET /admin/v1/storage`. */
interface Storage {
  blobs: { count: number; bytes: number };
  uploads: { count: number; bytes: number };
  repositories: number;
  tags: number;
  manifests: number;
}

/** `GET /admin/v1/retention` (src/routes/admin-retention.ts). */
interface Retention {
  rules: { name: string; keepLast: number | null; keepTags: string | null; olderThanMs: number | null; deleteUntagged: boolean }[];
  deleteUntagged: boolean;
  graceMs: number;
  uploadPurgeAgeMs: number;
  intervalMs: number | null;
}

/** What a run did or would do, in words: "would free" for a dry run. */
function Outcome({ run }: { run: GcRun }) {
  if (run.state === 'running') return <span>running…</span>;
  if (run.state === 'failed' || !run.report) return <span>failed: {run.error ?? 'unknown error'}</span>;
  const r = run.report;
  return (
    <span>
      {run.dryRun ? 'would free ' : 'freed '}
      <Bytes value={r.bytesFreed} /> in {r.blobsDeleted} blobs; {r.tagsDeleted} tags, {r.manifestsDeleted} manifests
      {r.uploadsPurged > 0 ? `, ${r.uploadsPurged} upload sessions` : ''}
    </span>
  );
}

/** How far a running run got: its phase, a progress bar where the total is known, and the counts so far. */
export function Progress({ progress: p, dryRun }: { progress: GcProgress; dryRun: boolean }) {
  const deleted = dryRun ? 'would be deleted' : 'deleted';
  const [label, value, max, text] =
    p.phase === 'mark'
      ? ['Marking', p.repositoriesVisited, p.repositories, `${p.repositoriesVisited} of ${p.repositories} repositories read, ${p.manifestsVisited} manifests; ${p.blobsStored} blobs stored`]
      : p.phase === 'sweep'
        ? ['Sweeping', p.blobsChecked, p.blobCandidates, `${p.blobsChecked} of ${p.blobCandidates} unneeded blobs checked, ${p.blobsDeleted} ${deleted}`]
        : ['Purging abandoned uploads', 1, 1, `${p.blobsDeleted} blobs ${deleted}`];
  return (
    <p class="progress" data-phase={p.phase}>
      <strong>{label}</strong>
      {max > 0 && <progress value={value} max={max} aria-label={`${label}: ${value} of ${max}`} />}
      <span class="counts">
        {text}
        {p.phase !== 'mark' && (
          <>
            , <Bytes value={p.bytesFreed} /> {dryRun ? 'would be freed' : 'freed so far'}
          </>
        )}
        {p.tagsDeleted + p.manifestsDeleted > 0 ? `; ${p.tagsDeleted} tags, ${p.manifestsDeleted} manifests ${deleted}` : ''}.
      </span>
    </p>
  );
}

/** The per-repository lines of a report. */
function ReportRepositories({ report }: { report: GcReport }) {
  const rows = Object.entries(report.repositories);
  if (rows.length === 0) return <p>No repository changed.</p>;
  return (
    <table class="list">
      <caption>By repository{report.repositoriesOmitted ? ` (${report.repositoriesOmitted} more not listed)` : ''}</caption>
      <thead>
        <tr>
          <th scope="col">Repository</th>
          <th scope="col" class="num">Tags</th>
          <th scope="col" class="num">Manifests</th>
          <th scope="col" class="num">Bytes</th>
        </tr>
      </thead>
      <tbody>
        {rows.map(([name, r]) => (
          <tr key={name}>
            <th scope="row">{name}</th>
            <td class="num">{r.tagsDeleted}</td>
            <td class="num">{r.manifestsDeleted}</td>
            <td class="num">
              <Bytes value={r.bytesFreed} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Starts runs and follows the current one until it ends. */
function Collector({ api, onDone }: { api: Api; onDone: () => void }) {
  const [deleteUntagged, setDeleteUntagged] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const [run, setRun] = useState<GcRun | undefined>();
  const [error, setError] = useState<Error | undefined>();
  const [now, setNow] = useState(Date.now());
  // bumped after a failed poll, so that one failure (a network blip) does not stop following the run
  const [failedPolls, setFailedPolls] = useState(0);
  useEffect(() => {
    if (run?.state !== 'running') return;
    const t = setTimeout(() => {
      setNow(Date.now());
      api.json<GcRun>(`/admin/v1/gc/${run.id}`).then(
        (r) => {
          setError(undefined);
          setRun(r);
          if (r.state !== 'running') onDone();
        },
        (e: unknown) => {
          setError(e as Error);
          setFailedPolls((n) => n + 1);
        },
      );
    }, 1000);
    return () => clearTimeout(t);
  }, [run, failedPolls]);
  const start = async (dryRun: boolean) => {
    setConfirming(false);
    setError(undefined);
    try {
      const { id } = (await (await api.fetch('/admin/v1/gc', { method: 'POST', json: { dryRun, deleteUntagged } })).json()) as { id: string };
      setRun(await api.json<GcRun>(`/admin/v1/gc/${id}`));
    } catch (e) {
      setError(e as Error);
    }
  };
  const busy = run?.state === 'running';
  return (
    <section aria-labelledby="gc-title" class="panel">
      <h2 id="gc-title">Garbage collection</h2>
      <label class="check">
        <input type="checkbox" checked={deleteUntagged} onChange={(e) => setDeleteUntagged((e.target as HTMLInputElement).checked)} />
        Also delete untagged manifests (what deleting a tag leaves)
      </label>
      <div class="actions">
        <button type="button" disabled={busy} onClick={() => void start(true)}>
          Dry run: what would be freed
        </button>
        <button type="button" class="danger" disabled={busy} onClick={() => setConfirming(true)}>
          Run garbage collection
        </button>
      </div>
      {error && <ErrorBox error={error} />}
      {run && (
        <div class="run" role="status" aria-live="polite" data-state={run.state}>
          <p>
            <strong>{run.dryRun ? 'Dry run' : 'Run'}</strong> <code>{run.id}</code>: {run.state}
            {run.state === 'running' ? ` for ${formatDuration(Math.max(0, now - Date.parse(run.startedAt)))}` : ''}.{' '}
            <span class="outcome">
              <Outcome run={run} />
            </span>
          </p>
          {run.state === 'running' && run.progress && <Progress progress={run.progress} dryRun={run.dryRun} />}
          {run.report && <ReportRepositories report={run.report} />}
        </div>
      )}
      {confirming && (
        <Confirm title="Run garbage collection" action="Run" onCancel={() => setConfirming(false)} onConfirm={() => void start(false)}>
          <p>
            Delete what no tag keeps{deleteUntagged ? ', untagged manifests included,' : ''} and apply the retention rules? Blobs younger than the grace period stay. A dry run shows what would go.
          </p>
        </Confirm>
      )}
    </section>
  );
}

/** The retention rules and GC settings in force. */
function RetentionRules({ retention }: { retention: Retention }) {
  return (
    <section aria-labelledby="rules-title" class="panel">
      <h2 id="rules-title">Retention rules</h2>
      <KeyValues
        rows={[
          ['Delete untagged manifests everywhere', retention.deleteUntagged ? 'yes' : 'no'],
          ['Grace period', formatDuration(retention.graceMs)],
          ['Upload sessions purged after', formatDuration(retention.uploadPurgeAgeMs)],
          ['Schedule', retention.intervalMs === null ? 'on demand only' : `every ${formatDuration(retention.intervalMs)}`],
        ]}
      />
      {retention.rules.length === 0 ? (
        <p>No retention rules: tags are deleted only by hand. A dry run shows what the rules would delete now.</p>
      ) : (
        <table class="list">
          <caption>Rules (a dry run shows what they would delete now)</caption>
          <thead>
            <tr>
              <th scope="col">Repositories</th>
              <th scope="col">Keep last</th>
              <th scope="col">Keep tags</th>
              <th scope="col">Delete older than</th>
              <th scope="col">Untagged</th>
            </tr>
          </thead>
          <tbody>
            {retention.rules.map((r, i) => (
              <tr key={i}>
                <th scope="row">
                  <code>{r.name}</code>
                </th>
                <td>{r.keepLast ?? '-'}</td>
                <td>{r.keepTags ? <code>{r.keepTags}</code> : '-'}</td>
                <td>{r.olderThanMs === null ? '-' : formatDuration(r.olderThanMs)}</td>
                <td>{r.deleteUntagged ? 'deleted' : 'kept'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** The storage and cleanup view. */
export function StorageView({ api }: { api: Api }) {
  const storage = useAsync(() => api.json<Storage>('/admin/v1/storage'), []);
  const retention = useAsync(() => api.json<Retention>('/admin/v1/retention'), []);
  const history = useAsync(() => api.json<{ runs: GcRun[] }>('/admin/v1/gc'), []);
  const refresh = () => {
    storage.reload();
    history.reload();
  };
  const s = storage.data;
  return (
    <section aria-labelledby="view-title">
      <h1 id="view-title">Storage and cleanup</h1>
      {storage.error && <ErrorBox error={storage.error} />}
      {s && (
        <KeyValues
          caption="Storage"
          rows={[
            ['Blob bytes', <Bytes value={s.blobs.bytes} />],
            ['Blobs', s.blobs.count],
            [
              'Upload sessions',
              <span>
                {s.uploads.count} (<Bytes value={s.uploads.bytes} />)
              </span>,
            ],
            ['Repositories', s.repositories],
            ['Tags', s.tags],
            ['Manifests', s.manifests],
          ]}
        />
      )}
      <Collector api={api} onDone={refresh} />
      {retention.error && <ErrorBox error={retention.error} />}
      {retention.data && <RetentionRules retention={retention.data} />}
      <section aria-labelledby="history-title" class="panel">
        <h2 id="history-title">History</h2>
        {history.error && <ErrorBox error={history.error} />}
        <ol class="history">
          {history.data?.runs.map((run) => (
            <li key={run.id}>
              <details>
                <summary>
                  {formatTime(run.startedAt)} — {run.dryRun ? 'dry run' : 'run'}, {run.state}: <Outcome run={run} />
                </summary>
                {run.report && <ReportRepositories report={run.report} />}
              </details>
            </li>
          ))}
        </ol>
        {history.data?.runs.length === 0 && <p>No garbage collection has run yet.</p>}
      </section>
    </section>
  );
}
