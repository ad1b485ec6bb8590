/** Registers the client commands (login, logout, push, pull, tag, copy, ls, tags, inspect, digest, rm, blob) on the `wharf` program. */
import { Command } from 'commander';
import type { ClientOptions } from './client-common.js';

/** Loads a command's module only when it runs (the process starts faster: undici, tar and prompts load on demand). */
function lazy<A extends unknown[]>(load: () => Promise<(...args: A) => Promise<void>>): (...args: A) => Promise<void> {
  return async (...args: A) => (await load())(...args);
}

const login = lazy(async () => (await import('./login.js')).login);
const logout = lazy(async () => (await import('./login.js')).logout);
const push = lazy(async () => (await import('./push.js')).push);
const pull = lazy(async () => (await import('./pull.js')).pull);
const tag = lazy(async () => (await import('./tag.js')).tag);
const copy = lazy(async () => (await import('./copy.js')).copy);
const ls = lazy(async () => (await import('./ls.js')).ls);
const tags = lazy(async () => (await import('./ls.js')).tags);
const inspect = lazy(async () => (await import('./inspect.js')).inspect);
const digest = lazy(async () => (await import('./digest.js')).digest);
const rm = lazy(async () => (await import('./rm.js')).rm);
const blobGet = lazy(async () => (await import('./blob.js')).blobGet);
const blobPut = lazy(async () => (await import('./blob.js')).blobPut);

/**
 * Adds how `cmd` reaches its registries: `--insecure` (plain HTTP for `whose`) and `--ca-file`;
 * shared by the client commands and `wharf build`.
 */
export function connectionOptions(cmd: Command, whose = "this command's registries"): Command {
  return cmd.option('--insecure', `reach ${whose} over plain HTTP (loopback ones always are)`).option('--ca-file <file>', 'trust the CAs of this PEM file too (default $SSL_CERT_FILE)');
}

/** Adds the options every client command takes. */
function common(cmd: Command, transfers = false): Command {
  connectionOptions(cmd)
    .option('--json', 'print one machine-readable result')
    .option('-q, --quiet', 'print nothing but errors');
  if (transfers) {
    cmd.option('-j, --jobs <n>', 'blobs transferred at once', '8').option('--chunk-size <MiB>', 'bytes per PATCH of a chunked upload, in MiB', '64');
  }
  return cmd;
}

function example(cmd: Command, ...lines: string[]): Command {
  return cmd.addHelpText('after', `\nExample${lines.length > 1 ? 's' : ''}:\n${lines.map((l) => `  ${l}`).join('\n')}\n`);
}

/** Registers every client command on `program`. */
export function registerClientCommands(program: Command): void {
  example(
    common(program.command('login [registry]').description('log in to a registry (default Docker Hub); credentials kept as docker login keeps them'))
      .option('-u, --username <user>', 'the username')
      .option('-p, --password <password>', 'the password (prefer --password-stdin)')
      .option('--password-stdin', 'read the password from stdin'),
    'echo "$PASSWORD" | wharf login localhost:5000 -u alice --password-stdin',
  ).action(login);
  example(common(program.command('logout [registry]').description('remove the credentials of a registry')), 'wharf logout localhost:5000').action(logout);
  example(
    common(program.command('push <source> <ref>').description('push a docker save tarball, an OCI archive or an OCI layout folder'), true).option('--platform <os/arch>', 'push one image of an index'),
    'docker save app:1.0 -o app.tar && wharf push app.tar localhost:5000/team/app:1.0',
    'wharf push ./oci-layout localhost:5000/team/app:1.0',
  ).action(push);
  example(
    common(program.command('pull <ref> <dest>').description('pull an image to an OCI layout folder, an OCI archive, or a docker load tarball'), true)
      .option('--format <format>', 'oci (a folder), oci-archive, docker-archive (default for DEST ending in .tar)')
      .option('--platform <os/arch>', 'pull one image of an index (a docker-archive defaults to this machine)'),
    'wharf pull localhost:5000/team/app:1.0 ./app-layout',
    'wharf pull localhost:5000/team/app:1.0 app.tar && docker load -i app.tar',
  ).action(pull);
  example(common(program.command('tag <ref> <newtag>').description('tag a manifest again on the registry (no blob moves)')), 'wharf tag localhost:5000/team/app:1.0 stable').action(tag);
  example(
    common(program.command('copy <src> <dst>').description('copy an image (a whole index by default) between registries, or to/from oci:, oci-archive:, docker-archive:'), true)
      .option('--platform <os/arch>', 'copy one image of an index')
      .option('--referrers', 'copy signatures, SBOMs and other referrers too')
      .option('--all-tags', 'copy every tag of the repository'),
    'wharf copy --referrers localhost:5000/team/app:1.0 registry.example.com/team/app:1.0',
  ).action(copy);
  example(common(program.command('ls <registry>').description("list a registry's repositories (catalog)")), 'wharf ls localhost:5000').action((r: string, o: ClientOptions) => ls(r, o));
  example(common(program.command('tags <repo>').description("list a repository's tags")), 'wharf tags localhost:5000/team/app').action((r: string, o: ClientOptions) => tags(r, o));
  example(
    common(program.command('inspect <ref>').description('show a manifest: digest, platforms, config, layer sizes')).option('--raw', "print the manifest's exact bytes"),
    'wharf inspect localhost:5000/team/app:1.0',
  ).action(inspect);
  example(common(program.command('digest <ref>').description("print the digest of a reference's manifest")), 'wharf digest localhost:5000/team/app:1.0').action(digest);
  example(
    common(program.command('rm <ref>').description('delete a tag (REPO:TAG: the manifest and its other tags stay) or a manifest with every tag pointing at it (REPO@DIGEST)')),
    'wharf rm localhost:5000/team/app:old                # the tag old only',
    'wharf rm localhost:5000/team/app@sha256:...         # the manifest and all its tags',
  ).action(rm);
  const blob = program.command('blob').description('get or put one blob');
  example(
    common(blob.command('get <ref>').description('stream a blob, verified, to stdout or a file')).option('-o, --output <file>', 'write to FILE (renamed into place once verified)'),
    'wharf blob get localhost:5000/team/app@sha256:... -o layer.tar.gz',
  ).action(blobGet);
  example(common(blob.command('put <repo> <file>').description('upload a file as a blob and print its digest'), true), 'wharf blob put localhost:5000/team/app ./data.bin').action(blobPut);
}
