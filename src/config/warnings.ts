/**
 * Settings that are valid but delete more than their author may expect: `wharf serve` and `wharf gc`
 * log one warning per setting at start-up, naming the key and what it will do. They are not refused
 * (a CI cache may want exactly that).
 */
import { distributionWarnings } from './distribution.js';
import type { Config } from './schema.js';

/** One warning: the key (`gc.retention.0.keeplast`) and what the setting does. */
export interface ConfigWarning {
  key: string;
  message: string;
}

/**
 * The risky settings of `config`'s `gc` section (a zero `keeplast`, `olderthan`, `uploadpurge.age` or
 * `grace`), after the CNCF Distribution keys Wharf ignores (see distribution.ts).
 */
export function configWarnings(config: Config): ConfigWarning[] {
  const found: ConfigWarning[] = [...distributionWarnings(config)];
  const { gc } = config;
  if (gc.grace === 0) {
    found.push({
      key: 'gc.grace',
      message: 'is 0s: a blob a client was just told exists (HEAD 200) may be swept before its manifest PUT, which then fails; keep it longer than a push takes',
    });
  }
  if (gc.uploadpurge.age === 0) {
    found.push({ key: 'gc.uploadpurge.age', message: 'is 0s: every run deletes every upload session, also those of pushes in progress, which then fail' });
  }
  gc.retention.forEach((rule, i) => {
    const keeps = rule.keeptags === undefined ? '' : ` not matching keeptags ${JSON.stringify(rule.keeptags)}`;
    if (rule.keeplast === 0) {
      const which = rule.olderthan === undefined ? 'every tag' : 'every tag older than olderthan';
      found.push({ key: `gc.retention.${i}.keeplast`, message: `is 0: keeps no tag by recency; each run deletes ${which}${keeps} in repositories matching ${JSON.stringify(rule.name)}` });
    }
    if (rule.olderthan === 0) {
      const spared = rule.keeplast ? ` beyond the ${rule.keeplast} most recent` : '';
      found.push({ key: `gc.retention.${i}.olderthan`, message: `is 0s: each run deletes every tag${spared}${keeps} in repositories matching ${JSON.stringify(rule.name)}, including tags pushed a moment ago` });
    }
  });
  return found;
}
