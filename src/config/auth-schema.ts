/**
 * The `auth` section of the configuration: the built-in token server (`auth.token`) or an external
 * issuer (`auth.token.external`), users (`auth.htpasswd`, `auth.users`), `auth.groups` and the
 * access rules `auth.acl`. Modes: `token` set -> Bearer tokens (Docker token authentication);
 * only `htpasswd`/`users` -> HTTP Basic on the registry itself, as CNCF Distribution's htpasswd mode.
 */
import { z } from 'zod';
import { PATTERN } from '../auth/policy.js';
import { BCRYPT_HASH, isAccountName } from '../auth/names.js';

/** Whole seconds, also as the string an environment variable carries. */
const seconds = (min: number, why = '') =>
  z
    .union([z.number(), z.string().regex(/^\d+$/, 'expected whole seconds, e.g. 300').transform(Number)], { error: 'expected whole seconds, e.g. 300' })
    .pipe(z.number().int('expected whole seconds').min(min, `must be at least ${min} seconds${why}`));

const url = z.string({ error: 'expected a URL' }).regex(/^https?:\/\/[^\s]+$/, 'expected an http:// or https:// URL');
const path = z.string({ error: 'expected a file path' }).min(1, 'must not be empty');
const account = z.string({ error: 'expected an account name' }).refine(isAccountName, {
  message: 'invalid account name: a letter or digit, then letters, digits, . _ - @ (no / or glob characters), at most 128 characters; not "anonymous" or "authenticated"',
});

/** Token lifetime floor: docker, containerd and skopeo cache a token for at least 60 s whatever `expires_in` says. */
export const MIN_TOKEN_SECONDS = 60;

const external = z
  .strictObject({
    /** where clients get tokens from the external issuer */
    realm: url,
    /** the `iss` its tokens carry */
    issuer: z.string({ error: 'expected the issuer name its tokens carry in iss' }).min(1),
    publickey: path.optional(),
    certificates: path.optional(),
    jwks: path.optional(),
  })
  .refine((e) => [e.publickey, e.certificates, e.jwks].filter((v) => v !== undefined).length === 1, {
    message: 'set exactly one of publickey (PEM public key), certificates (PEM certificate bundle) or jwks (JWKS JSON file)',
  });

const token = z.strictObject({
  /** the audience (`aud`) of tokens and the `service` of challenges */
  service: z.string().min(1).default('wharf'),
  /** `iss` of the built-in server's tokens */
  issuer: z.string().min(1).default('wharf'),
  /** access token lifetime */
  expiration: seconds(MIN_TOKEN_SECONDS, ': docker, containerd and skopeo cache a token for at least 60 s, so a shorter lifetime makes them send expired tokens').default(300),
  /** refresh token lifetime (`docker login` keeps it as its identity token) */
  refreshexpiration: seconds(MIN_TOKEN_SECONDS).default(7 * 24 * 3600),
  /** the realm of challenges; default: this server's /auth/token, from the request's Host */
  realm: url.optional(),
  /** the built-in server's signing key (PEM, RSA or EC P-256); generated with mode 0600 when missing */
  key: path.optional(),
  external: external.optional(),
});

const rule = z
  .strictObject({
    account: z.union([z.enum(['anonymous', 'authenticated', '*']), account], { error: 'expected an account name, anonymous, authenticated or *' }).optional(),
    group: z.string().min(1).optional(),
    name: z.string({ error: 'expected a repository pattern such as team/* or ${account}/*' }).regex(PATTERN, 'a repository pattern holds lowercase letters, digits, . _ - /, the globs * and ?, and ${account}'),
    actions: z.array(z.enum(['pull', 'push', 'delete', '*'], { error: 'expected pull, push, delete or *' })),
    admin: z.boolean().optional(),
  })
  .refine((r) => (r.account === undefined) !== (r.group === undefined), { message: 'set exactly one of account or group' });

/** The `auth` section. */
export const authSchema = z
  .strictObject({
    token: token.optional(),
    htpasswd: z.strictObject({ path, realm: z.string().min(1).default('wharf') }).optional(),
    users: z
      .array(
        z.strictObject({
          name: account,
          password: z.string().regex(BCRYPT_HASH, 'expected a bcrypt hash ($2y$...), e.g. from `htpasswd -nbB USER PASSWORD`'),
        }),
      )
      .default([]),
    groups: z.record(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'a group name holds letters, digits, . _ -'), z.array(account)).default({}),
    acl: z.array(rule).default([]),
  })
  .refine((a) => a.token !== undefined || a.htpasswd !== undefined || a.users.length > 0, {
    message: 'set auth.token (token authentication) or auth.htpasswd / auth.users (Basic authentication), or remove the auth section',
  })
  .superRefine((a, ctx) => {
    a.acl.forEach((r, i) => {
      if (r.group !== undefined && !Object.hasOwn(a.groups, r.group)) {
        ctx.addIssue({ code: 'custom', path: ['acl', i, 'group'], message: `auth.groups defines no group "${r.group}"; add it (groups: {${r.group}: [USER, ...]}) or fix the name` });
      }
    });
  });

/** The validated `auth` section. */
export type AuthConfig = z.output<typeof authSchema>;
