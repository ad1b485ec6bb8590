import { describe, expect, it } from 'vitest';
import { parseAdminPath } from '../../src/routes/admin-path.js';

describe('parseAdminPath', () => {
  it('parses the fixed endpoints, with or without a trailing slash', () => {
    expect(parseAdminPath('/repositories', 'GET')).toEqual({ area: 'repositories' });
    expect(parseAdminPath('/repositories/', 'GET')).toEqual({ area: 'repositories' });
    expect(parseAdminPath('/storage', 'GET')).toEqual({ area: 'storage' });
    expect(parseAdminPath('/import', 'POST')).toEqual({ area: 'import' });
  });

  it('finds the LAST /tags of the path, so names may contain / and even a component named tags', () => {
    expect(parseAdminPath('/repositories/team/app/tags', 'GET')).toEqual({ area: 'tags', name: 'team/app' });
    expect(parseAdminPath('/repositories/team/tags/tags', 'GET')).toEqual({ area: 'tags', name: 'team/tags' });
    expect(parseAdminPath('/repositories/team/app/tags/1.0', 'DELETE')).toEqual({ area: 'tag', name: 'team/app', tag: '1.0' });
    expect(parseAdminPath('/repositories/a/tags/b/tags/c', 'DELETE')).toEqual({ area: 'tag', name: 'a/tags/b', tag: 'c' });
  });

  it('reads a DELETE of a path ending in /tags as the repository of that name, and other paths as repositories', () => {
    expect(parseAdminPath('/repositories/team/tags', 'DELETE')).toEqual({ area: 'repository', name: 'team/tags' });
    expect(parseAdminPath('/repositories/team/app', 'DELETE')).toEqual({ area: 'repository', name: 'team/app' });
    expect(parseAdminPath('/repositories/team/app/tags/1.0', 'GET')).toEqual({ area: 'repository', name: 'team/app/tags/1.0' });
  });

  it('leaves other paths (gc, unknown) to the next router', () => {
    expect(parseAdminPath('/gc', 'POST')).toBeUndefined();
    expect(parseAdminPath('/gc/123', 'GET')).toBeUndefined();
    expect(parseAdminPath('/', 'GET')).toBeUndefined();
    expect(parseAdminPath('/nothing', 'GET')).toBeUndefined();
  });
});
