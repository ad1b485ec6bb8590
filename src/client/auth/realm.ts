/**
 * Where the client may send credentials to fetch a token: the realm of a Bearer challenge is
 * chosen by the registry, so a careless (or hostile) registry can point it at plain HTTP or at
 * another host. Basic credentials (or an identity token) are sent to an `http://` realm only when
 * the realm is on the registry's own host and that host is loopback or named with `--insecure`.
 * An `https://` realm elsewhere is the Docker token flow as Docker Hub and most registries run it
 * (auth.docker.io for registry-1.docker.io) and stays allowed; go-containerregistry issue #2193
 * and containerd's CVE-2020-15157 are the same class of leak (credentials sent where the registry
 * said); docker and containerd themselves send to whatever realm is named.
 */
import { isLoopback } from '../transport.js';

/**
 * Why credentials must not be sent to `realm` for `registry`, or undefined when they may.
 * @param registryHost the registry's API host (`host[:port]`)
 * @param plainHttpAllowed whether a host (`host[:port]`) may be reached over plain HTTP (loopback or `--insecure`)
 */
export function realmRefusal(registryHost: string, realm: URL, plainHttpAllowed: (host: string) => boolean): string | undefined {
  if (realm.protocol !== 'http:') return undefined;
  const where = `the token realm ${realm.origin}${realm.pathname} is plain http`;
  if (!sameHost(registryHost, realm.host)) {
    return `${where} on another host than the registry ${registryHost}: refusing to send credentials there; serve the token endpoint over https`;
  }
  if (isLoopback(realm.host) || plainHttpAllowed(realm.host) || plainHttpAllowed(registryHost)) return undefined;
  return `${where}: refusing to send credentials unencrypted; serve the token endpoint over https, or pass --insecure for ${realm.hostname}`;
}

/** Same host name (the port may differ: a token server beside the registry); every loopback name is one host. */
function sameHost(a: string, b: string): boolean {
  if (isLoopback(a) && isLoopback(b)) return true;
  return hostname(a) === hostname(b);
}

function hostname(host: string): string {
  return new URL(`http://${host}`).hostname.toLowerCase();
}
