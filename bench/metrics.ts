/**
 * The rows of the bench's table: each metric with its unit, issue 7's target where it has one, and
 * the workload group that measures it.
 */
import { proxyMetrics } from './proxy.js';
import type { Group, Options } from './options.js';
import type { Metric } from './report.js';

/** A metric of the table and the workload group that measures it. */
export type BenchMetric = Metric & { group: Group };

/**
 * The metrics in table order, with issue 7's targets; labels name the sizes of this run.
 * @param o the run's options (blob size in MiB, tag and repository counts)
 */
export function metrics(o: Pick<Options, 'blobMib' | 'tags' | 'repositories' | 'fixedRate'>): BenchMetric[] {
  const blob = o.blobMib % 1024 === 0 ? `${o.blobMib / 1024} GiB` : `${o.blobMib} MiB`;
  const count = (n: number): string => n.toLocaleString('en-US');
  return [
  { key: 'push-monolithic', group: 'push', label: `${blob} blob push, monolithic (POST + PUT)`, unit: 'MiB/s', target: { ratioAtLeast: 1.2 } },
  { key: 'push-streamed', group: 'push', label: `${blob} blob push, streamed (PATCH + PUT)`, unit: 'MiB/s', target: { ratioAtLeast: 1.2 } },
  { key: 'push-chunked', group: 'push', label: `${blob} blob push, chunked`, unit: 'MiB/s', target: { ratioAtLeast: 1.2 } },
  { key: 'commit-chunked', group: 'push', label: `${blob} chunked push: the final PUT after the last PATCH`, unit: 's', target: { ratioAtMost: 1.0 } },
  { key: 'pull', group: 'pull', label: `${blob} blob pull`, unit: 'MiB/s', target: { ratioAtLeast: 1.0 } },
  { key: 'fanout', group: 'pull', label: 'concurrent pulls of one blob, aggregate', unit: 'MiB/s', target: { ratioAtLeast: 1.0 } },
  { key: 'cpu-pull', group: 'pull', label: `server CPU per GiB pulled (the ${blob} pull)`, unit: 's/GiB' },
  { key: 'get-tag', group: 'manifests', label: 'manifest GET by tag', unit: 'req/s', target: { ratioAtLeast: 5 } },
  { key: 'cpu-get-tag', group: 'manifests', label: 'manifest GET by tag, server CPU per request', unit: 'µs' },
  { key: 'cpu-get-tag-rate', group: 'manifests', label: `manifest GET by tag at a fixed ${count(o.fixedRate)} req/s, server CPU per request`, unit: 'µs' },
  { key: 'get-tag-p99', group: 'manifests', label: 'manifest GET by tag, p99', unit: 'ms', target: { atMost: 10 } },
  { key: 'head-digest', group: 'manifests', label: 'manifest HEAD by digest', unit: 'req/s', target: { ratioAtLeast: 5 } },
  { key: 'cpu-head-digest', group: 'manifests', label: 'manifest HEAD by digest, server CPU per request', unit: 'µs' },
  { key: 'head-digest-p99', group: 'manifests', label: 'manifest HEAD by digest, p99', unit: 'ms', target: { atMost: 10 } },
  { key: 'put-tag', group: 'manifests', label: 'manifest PUT by tag', unit: 'req/s', target: { ratioAtLeast: 2 } },
  { key: 'cpu-put-tag', group: 'manifests', label: 'manifest PUT by tag, server CPU per request', unit: 'µs' },
  { key: 'tags-list', group: 'listings', label: `tags/list of ${count(o.tags)} tags`, unit: 'req/s', target: { ratioAtLeast: 5 } },
  { key: 'cpu-tags-list', group: 'listings', label: 'tags/list, server CPU per request', unit: 'µs' },
  { key: 'tags-list-p99', group: 'listings', label: 'tags/list, p99', unit: 'ms' },
  { key: 'catalog', group: 'listings', label: `_catalog of ${count(o.repositories)} repositories`, unit: 'req/s', target: { ratioAtLeast: 5 } },
  { key: 'catalog-p99', group: 'listings', label: '_catalog, p99', unit: 'ms' },
  { key: 'docker-push', group: 'docker', label: 'docker push', unit: 's', target: { ratioAtMost: 1.0 } },
  { key: 'docker-pull', group: 'docker', label: 'docker pull', unit: 's', target: { ratioAtMost: 1.0 } },
  { key: 'rss-push', group: 'push', label: 'peak RSS during the blob pushes', unit: 'MiB', target: { atMost: 150 } },
  { key: 'rss-manifests', group: 'manifests', label: 'peak RSS during the manifest load', unit: 'MiB', target: { atMost: 150 } },
  ...proxyMetrics(),
  ];
}
