/**
 * Every key of the configuration schema as a dotted path (`http.addr`, `storage.s3.bucket`, list
 * entries as `gc.retention[].keeplast`, maps as their key), read from the zod schema itself, so a test
 * can check that docs/configuration.md documents each one.
 */
import type { z } from 'zod';

type Def = { type: string; innerType?: z.ZodType; in?: z.ZodType; element?: z.ZodType; options?: z.ZodType[]; shape?: Record<string, z.ZodType> };

/** The dotted paths of every leaf key under `schema` (objects are walked; arrays add `[]`). */
export function configKeys(schema: z.ZodType, prefix = ''): string[] {
  const def = (schema as unknown as { _zod: { def: Def } })._zod.def;
  switch (def.type) {
    case 'default':
    case 'optional':
    case 'nullable':
    case 'prefault':
      return configKeys(def.innerType!, prefix);
    case 'pipe':
      return configKeys(def.in!, prefix);
    case 'object':
      return Object.entries(def.shape!).flatMap(([key, child]) => {
        const nested = configKeys(child, prefix === '' ? key : `${prefix}.${key}`);
        return nested.length > 0 ? nested : [prefix === '' ? key : `${prefix}.${key}`];
      });
    case 'array':
      return configKeys(def.element!, `${prefix}[]`).filter((k) => k !== `${prefix}[]`);
    case 'union': {
      const objects = def.options!.flatMap((o) => configKeys(o, prefix)).filter((k) => k !== prefix);
      return [...new Set(objects)];
    }
    default:
      return [];
  }
}
