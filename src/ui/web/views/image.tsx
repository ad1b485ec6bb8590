/**
 * The image view, from the registry API (`/v2/`), so every account that may pull sees it: the
 * manifest as stored (its digest, media type, size and bytes), an index's platforms, an image's
 * config (env, entrypoint, cmd, workdir, user, labels, created), layers, history, the referrers
 * (signatures, SBOMs, attestations) with their artifact types and annotations, and copyable pull
 * commands with the digest.
 */
import type { ComponentChildren } from 'preact';
import type { Api } from '../api.js';
import { Bytes, CopyCommand, ErrorBox, KeyValues, useAsync } from '../common.js';
import { formatPlatform, formatTime, pullCommands, shortDigest } from '../format.js';
import { artifactKind, artifactTypeOf, kindOf, MANIFEST_ACCEPT, MAX_CONFIG_BYTES, prettyJson, type Descriptor, type ImageConfig, type Manifest } from '../image.js';
import { href } from '../route.js';

/** A manifest as the registry answered it. */
interface Stored {
  text: string;
  manifest: Manifest;
  digest: string;
  mediaType: string;
}

/** Annotations as a list of `key: value` lines (text). */
function Annotations({ values }: { values: Record<string, string> | undefined }) {
  const entries = Object.entries(values ?? {});
  if (entries.length === 0) return <span>-</span>;
  return (
    <ul class="plain">
      {entries.map(([k, v]) => (
        <li key={k}>
          <code>{k}</code>: {v}
        </li>
      ))}
    </ul>
  );
}

/** A list of strings, one per line; `-` for none. */
function Lines({ values }: { values: string[] | undefined }) {
  if (!values || values.length === 0) return <span>-</span>;
  return (
    <ul class="plain">
      {values.map((v, i) => (
        <li key={i}>
          <code>{v}</code>
        </li>
      ))}
    </ul>
  );
}

/**
 * A table of descriptors: digest, media type and size, with a first column `label` gives (an index's
 * platforms) and links to each one's image view when `name` is given.
 */
function Descriptors({ caption, descriptors, name, label }: { caption: ComponentChildren; descriptors: Descriptor[]; name?: string; label?: [string, (d: Descriptor) => string] }) {
  return (
    <table class="list">
      <caption>{caption}</caption>
      <thead>
        <tr>
          {label && <th scope="col">{label[0]}</th>}
          <th scope="col">Digest</th>
          <th scope="col">Media type</th>
          <th scope="col" class="num">
            Size
          </th>
        </tr>
      </thead>
      <tbody>
        {descriptors.map((d, i) => {
          const digest = <code title={d.digest}>{shortDigest(d.digest)}</code>;
          return (
            <tr key={`${i}-${d.digest}`}>
              {label && <th scope="row">{label[1](d)}</th>}
              <td>{name ? <a href={href({ view: 'image', name, reference: d.digest })}>{digest}</a> : digest}</td>
              <td class="mt">{d.mediaType}</td>
              <td class="num">
                <Bytes value={d.size} />
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

/** An image's config and history, fetched as a blob. */
function Config({ api, name, descriptor }: { api: Api; name: string; descriptor: Descriptor }) {
  const config = useAsync(async () => {
    if (descriptor.size > MAX_CONFIG_BYTES) return undefined;
    return api.json<ImageConfig>(`/v2/${name}/blobs/${descriptor.digest}`);
  }, [name, descriptor.digest]);
  if (config.error instanceof TypeError) return <p role="alert">The config could not be read on this origin (does the storage redirect blob downloads, storage.s3.redirect?).</p>;
  if (config.error) return <ErrorBox error={config.error} />;
  if (config.loading) return <p>Loading the config…</p>;
  const c = config.data;
  if (!c) return <p>The config is larger than 1 MiB: not shown.</p>;
  const labels = Object.entries(c.config?.Labels ?? {});
  return (
    <>
      <KeyValues
        caption="Config"
        rows={[
          ['Platform', formatPlatform(c)],
          ['Created', formatTime(c.created)],
          ['Entrypoint', <Lines values={c.config?.Entrypoint} />],
          ['Cmd', <Lines values={c.config?.Cmd} />],
          ['Working directory', c.config?.WorkingDir || '-'],
          ['User', c.config?.User || '-'],
          ['Env', <Lines values={c.config?.Env} />],
          ['Exposed ports', Object.keys(c.config?.ExposedPorts ?? {}).join(', ') || '-'],
        ]}
      />
      <KeyValues caption="Labels" class="labels" rows={labels.length === 0 ? [['none', '']] : labels} />
      <table class="list">
        <caption>History</caption>
        <thead>
          <tr>
            <th scope="col">Created</th>
            <th scope="col">Created by</th>
            <th scope="col">Layer</th>
          </tr>
        </thead>
        <tbody>
          {(c.history ?? []).map((h, i) => (
            <tr key={i}>
              <td>{formatTime(h.created)}</td>
              <td>
                <code class="wrap">{h.created_by ?? h.comment ?? ''}</code>
              </td>
              <td>{h.empty_layer ? 'empty' : 'layer'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

/** The layers of an image manifest. */
function Layers({ layers }: { layers: Descriptor[] }) {
  const total = layers.reduce((sum, l) => sum + l.size, 0);
  const caption = (
    <>
      {layers.length} {layers.length === 1 ? 'layer' : 'layers'}, <Bytes value={total} />
    </>
  );
  return <Descriptors caption={caption} descriptors={layers} />;
}

/** The referrers of a manifest (`GET /v2/<name>/referrers/<digest>`). */
function Referrers({ api, name, digest }: { api: Api; name: string; digest: string }) {
  const referrers = useAsync(() => api.json<Manifest>(`/v2/${name}/referrers/${digest}`), [name, digest]);
  if (referrers.error) return <ErrorBox error={referrers.error} />;
  const list = referrers.data?.manifests ?? [];
  return (
    <table class="list">
      <caption>Referrers ({list.length})</caption>
      <thead>
        <tr>
          <th scope="col">Kind</th>
          <th scope="col">Artifact type</th>
          <th scope="col">Digest</th>
          <th scope="col" class="num">
            Size
          </th>
          <th scope="col">Annotations</th>
        </tr>
      </thead>
      <tbody>
        {list.map((r) => (
          <tr key={r.digest}>
            <td>{artifactKind(artifactTypeOf(r))}</td>
            <td class="mt">{artifactTypeOf(r)}</td>
            <td>
              <a href={href({ view: 'image', name, reference: r.digest })}>
                <code title={r.digest}>{shortDigest(r.digest)}</code>
              </a>
            </td>
            <td class="num">
              <Bytes value={r.size} />
            </td>
            <td>
              <Annotations values={r.annotations} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** The image view of `name` at `reference` (a tag or a digest). */
export function ImageView({ api, name, reference }: { api: Api; name: string; reference: string }) {
  const stored = useAsync(async (): Promise<Stored> => {
    const res = await api.fetch(`/v2/${name}/manifests/${reference}`, { accept: MANIFEST_ACCEPT });
    const text = await res.text();
    return { text, manifest: JSON.parse(text) as Manifest, digest: res.headers.get('Docker-Content-Digest') ?? reference, mediaType: res.headers.get('Content-Type') ?? '' };
  }, [name, reference]);
  const s = stored.data;
  const kind = s ? kindOf(s.manifest) : undefined;
  return (
    <section aria-labelledby="view-title">
      <p class="crumbs">
        <a href={href({ view: 'repositories' })}>Repositories</a> / <a href={href({ view: 'repository', name })}>{name}</a> /
      </p>
      <h1 id="view-title">
        {name}
        {reference.includes(':') ? '@' : ':'}
        {reference}
      </h1>
      {stored.error && <ErrorBox error={stored.error} />}
      {s && (
        <>
          <KeyValues
            caption="Manifest"
            rows={[
              ['Digest', <code class="wrap">{s.digest}</code>],
              ['Media type', s.mediaType],
              ['Kind', kind === 'index' ? 'image index' : kind === 'image' ? 'image' : `artifact (${artifactTypeOf(s.manifest)})`],
              ['Size', <Bytes value={new TextEncoder().encode(s.text).length} />],
              ['Subject', s.manifest.subject ? <a href={href({ view: 'image', name, reference: s.manifest.subject.digest })}>{s.manifest.subject.digest}</a> : '-'],
              ['Annotations', <Annotations values={s.manifest.annotations} />],
            ]}
          />
          <h2>Pull</h2>
          {pullCommands(location.host, name, s.digest, location.protocol === 'https:').map((c) => (
            <CopyCommand key={c.tool} label={c.tool} command={c.command} />
          ))}
          {kind === 'index' && <Descriptors caption="Platforms" descriptors={s.manifest.manifests ?? []} name={name} label={['Platform', (m) => (m.platform ? formatPlatform(m.platform) : artifactTypeOf(m) || '-')]} />}
          {kind === 'image' && s.manifest.config && <Config api={api} name={name} descriptor={s.manifest.config} />}
          {s.manifest.layers && <Layers layers={s.manifest.layers} />}
          <Referrers api={api} name={name} digest={s.digest} />
          <details open>
            <summary>Manifest as stored</summary>
            <pre class="manifest">{s.text}</pre>
          </details>
          <details>
            <summary>Manifest, formatted</summary>
            <pre class="manifest">{prettyJson(s.text)}</pre>
          </details>
        </>
      )}
    </section>
  );
}
