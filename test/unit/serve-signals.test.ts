/**
 * `wharf serve`'s stop signals: the first SIGINT or SIGTERM drains, a later one exits at once, but
 * the same signal again within SIGNAL_ECHO_MS is the echo Ctrl-C makes under `npm start` (the
 * terminal signals the process group, npm forwards it too: the server got SIGINT twice 14 ms apart
 * and cut its drain short).
 */
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { onStopSignals, SIGNAL_ECHO_MS } from '../../src/cli/serve.js';

function harness() {
  const target = new EventEmitter();
  let t = 0;
  const calls: string[] = [];
  onStopSignals(target as unknown as NodeJS.Process, { stop: (s) => calls.push(`stop ${s}`), force: (s) => calls.push(`force ${s}`) }, () => t);
  return { calls, send: (signal: NodeJS.Signals, at: number) => ((t = at), target.emit(signal, signal)) };
}

describe('the stop signals of wharf serve', () => {
  it("ignores Ctrl-C's echo from npm: the same signal again within SIGNAL_ECHO_MS", () => {
    const { calls, send } = harness();
    send('SIGINT', 0);
    send('SIGINT', 14);
    expect(calls).toEqual(['stop SIGINT']);
  });

  it('exits at once on the same signal after SIGNAL_ECHO_MS, or on another signal', () => {
    const a = harness();
    a.send('SIGINT', 0);
    a.send('SIGINT', SIGNAL_ECHO_MS);
    expect(a.calls).toEqual(['stop SIGINT', 'force SIGINT']);
    const b = harness();
    b.send('SIGTERM', 0);
    b.send('SIGINT', 5);
    expect(b.calls).toEqual(['stop SIGTERM', 'force SIGINT']);
  });
});
