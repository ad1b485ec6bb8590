/**
 * The page's views as URL fragments, so each view has a link, the back button works and nothing
 * but `/ui/` is served: `#/` repositories, `#/r/<name>` a repository, `#/i/<name>/<reference>` an
 * image (the reference a tag or digest), `#/storage` storage and cleanup, `#/cache` the pull-through
 * cache, `#/notifications` the notification endpoints. Parts are percent-encoded.
 */

/** A view and what it shows. */
export type Route = { view: 'repositories' } | { view: 'repository'; name: string } | { view: 'image'; name: string; reference: string } | { view: 'storage' } | { view: 'cache' } | { view: 'notifications' };

/** The route of a fragment (`location.hash`); the repositories for anything unknown. */
export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/');
  const decoded = (i: number): string | undefined => {
    const p = parts[i];
    if (p === undefined || p === '') return undefined;
    try {
      return decodeURIComponent(p);
    } catch {
      return undefined;
    }
  };
  const name = decoded(1);
  if (parts[0] === 'r' && name) return { view: 'repository', name };
  const reference = decoded(2);
  if (parts[0] === 'i' && name && reference) return { view: 'image', name, reference };
  if (parts[0] === 'storage' || parts[0] === 'cache' || parts[0] === 'notifications') return { view: parts[0] };
  return { view: 'repositories' };
}

/** The fragment of a route (what {@link parseRoute} reads back). */
export function href(route: Route): string {
  switch (route.view) {
    case 'repositories':
      return '#/';
    case 'repository':
      return `#/r/${encodeURIComponent(route.name)}`;
    case 'image':
      return `#/i/${encodeURIComponent(route.name)}/${encodeURIComponent(route.reference)}`;
    case 'storage':
    case 'cache':
    case 'notifications':
      return `#/${route.view}`;
  }
}
