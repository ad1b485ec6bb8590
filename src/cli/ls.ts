/** `wharf ls REGISTRY` (the catalog) and `wharf tags REPO` (a repository's tags), one per line or `--json`. */
import { listRepositories, listTags } from '../client/listings.js';
import { normalizeRegistry } from '../oci/image-reference.js';
import { CommandFailure, location, runClientCommand, type ClientOptions } from './client-common.js';

/** Lists the repositories of REGISTRY. @throws CommandFailure */
export async function ls(registry: string, options: ClientOptions): Promise<void> {
  let host: string;
  try {
    host = normalizeRegistry(registry);
  } catch (err) {
    throw new CommandFailure((err as Error).message);
  }
  await runClientCommand(options, [host], async ({ client, reporter, signal }) => {
    const repositories = await listRepositories(client, host, { signal });
    reporter.print(repositories.map((r) => `${r}\n`).join(''), { registry: host, repositories });
  });
}

/** Lists the tags of REPO. @throws CommandFailure */
export async function tags(repository: string, options: ClientOptions): Promise<void> {
  const repo = location(repository);
  if (repo.kind !== 'registry') throw new CommandFailure(`REPO must be a repository (host/name), not ${repository}`);
  await runClientCommand(options, [repo.ref.registry], async ({ client, reporter, signal, context }) => {
    context.repository = repo.ref.repository;
    const found = await listTags(client, repo.ref, { signal });
    reporter.print(found.map((t) => `${t}\n`).join(''), { repository: `${repo.ref.registry}/${repo.ref.repository}`, tags: found });
  });
}
