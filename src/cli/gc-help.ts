/** The help text of `wharf gc`, apart from the command so that `wharf --help` loads no server code. */

/** What `wharf gc --help` says a run deletes, and what it keeps, by default. */
export const GC_HELP = `
By default a run deletes, after the retention rules (gc.retention) untagged their tags:
  - manifests whose subject is gone (referrers of a deleted manifest),
  - blobs no remaining manifest uses (the layers and configs of deleted manifests), with their links,
  - upload sessions idle for longer than gc.uploadpurge.age (24h).
It keeps every tagged manifest and what it uses, and also manifests no tag reaches (a deleted tag
leaves its manifest): --delete-untagged (gc.deleteuntagged: true) deletes those too. Nothing modified
within the grace period (gc.grace, 1h) is deleted: --grace 0s collects it now, but a push in progress
may then fail and need a retry. The report says what the grace period and untagged manifests kept.`;
