/**
 * The page: its session (signed in or the login form), the navigation, and the view of the URL
 * fragment (route.ts). Views for admins only (storage and cleanup, the pull-through cache,
 * notifications) are not offered to other
 * accounts, and the server refuses their requests anyway (403 DENIED).
 */
import { useEffect, useState } from 'preact/hooks';
import { Api, type Session } from './api.js';
import { ErrorBox } from './common.js';
import { href, parseRoute, type Route } from './route.js';
import { CacheView } from './views/cache.js';
import { ImageView } from './views/image.js';
import { NotificationsView } from './views/notifications.js';
import { RepositoriesView } from './views/repositories.js';
import { RepositoryView } from './views/repository.js';
import { StorageView } from './views/storage.js';

/** The login form: the account's name and password, sent only to this origin. */
export function Login({ api, onLogin }: { api: Api; onLogin: (s: Session) => void }) {
  const [error, setError] = useState<Error | undefined>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const form = new FormData(e.target as HTMLFormElement);
    setBusy(true);
    try {
      onLogin(await api.login(String(form.get('account') ?? ''), String(form.get('password') ?? '')));
    } catch (err) {
      setError(err as Error);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="login" onSubmit={(e) => void submit(e)} aria-labelledby="login-title">
      <h1 id="login-title">Sign in to the registry</h1>
      <label>
        Account
        <input name="account" autoComplete="username" required />
      </label>
      <label>
        Password
        <input name="password" type="password" autoComplete="current-password" required />
      </label>
      <button type="submit" disabled={busy}>
        Sign in
      </button>
      {error && <ErrorBox error={error} />}
    </form>
  );
}

/** The view of a route. */
function View({ api, route }: { api: Api; route: Route }) {
  switch (route.view) {
    case 'repositories':
      return <RepositoriesView api={api} />;
    case 'repository':
      return <RepositoryView key={route.name} api={api} name={route.name} />;
    case 'image':
      return <ImageView key={`${route.name}@${route.reference}`} api={api} name={route.name} reference={route.reference} />;
    case 'storage':
      return api.session.admin ? <StorageView api={api} /> : <p role="alert">Storage and cleanup is for administrators.</p>;
    case 'cache':
      return api.session.admin ? <CacheView api={api} /> : <p role="alert">The pull-through cache is for administrators.</p>;
    case 'notifications':
      return api.session.admin ? <NotificationsView api={api} /> : <p role="alert">Notifications are for administrators.</p>;
  }
}

/** The views for admins only, with their link text. */
const ADMIN_VIEWS = [
  ['storage', 'Storage and cleanup'],
  ['cache', 'Pull-through cache'],
  ['notifications', 'Notifications'],
] as const;

/** The whole page. */
export function App({ api }: { api: Api }) {
  const [session, setSession] = useState<Session | undefined>();
  const [error, setError] = useState<Error | undefined>();
  const [route, setRoute] = useState<Route>(parseRoute(location.hash));
  useEffect(() => {
    const onHash = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', onHash);
    api.load().then(setSession, (e: unknown) => setError(e as Error));
    return () => removeEventListener('hashchange', onHash);
  }, []);
  const logout = () => {
    api.logout();
    setSession({ ...api.session });
  };
  return (
    <>
      <header class="top">
        <a class="brand" href={href({ view: 'repositories' })}>
          Wharf
        </a>
        {session && !api.needsLogin && (
          <nav aria-label="views">
            <a href={href({ view: 'repositories' })} aria-current={route.view === 'repositories' ? 'page' : undefined}>
              Repositories
            </a>
            {session.admin &&
              ADMIN_VIEWS.map(([view, label]) => (
                <a key={view} href={href({ view })} aria-current={route.view === view ? 'page' : undefined}>
                  {label}
                </a>
              ))}
          </nav>
        )}
        {session?.account && (
          <span class="who">
            <span class="account">{session.account}</span>
            {session.admin ? ' (admin)' : ''}{' '}
            <button type="button" onClick={logout}>
              Sign out
            </button>
          </span>
        )}
      </header>
      <main id="main">
        {error && <ErrorBox error={error} />}
        {session && (api.needsLogin ? <Login api={api} onLogin={(s) => setSession({ ...s })} /> : <View api={api} route={route} />)}
      </main>
    </>
  );
}
