#!/bin/sh
':'; // 2>/dev/null; exec env MALLOC_MMAP_THRESHOLD_=131072 node --max-semi-space-size=2 --initial-old-space-size=48 --no-allocation-site-pretenuring "$0" "$@"
/**
 * The `wharf` command: parses argv and hands over to the command in `cli/`.
 *
 * The first two lines start node on any POSIX system: `#!/bin/sh` runs the second line as a shell
 * command (`:` with an argument, `//` fails silently, then `exec env NAME=value node <flags> "$0" "$@"`
 * replaces the shell by node: same pid, signals and exit code are node's), and to JavaScript it is a
 * directive and a comment. It replaces `#!/usr/bin/env -S ...`, which BusyBox's env (Alpine,
 * node:20-alpine) rejects; tsc emits the line as written (test/unit/bin-posix-shell.test.ts,
 * test/e2e/busybox-node.test.ts).
 *
 * The start line's `--initial-old-space-size=48` (MiB) lets V8 skip full collections while the old
 * generation and the external memory allocated since the last one stay under 48 MiB (128 kept the
 * same CPU and raised peak RSS on S3 to 177 MiB: docs/performance.md; 64 let a manifest load's
 * promoted request objects pile up to 75 MiB of heap: docs/s3.md, "Memory: what a manifest load
 * leaves in the old generation"; 48 costs 16-28 % more CPU per cold pull-through fill than 64:
 * docs/performance.md, "48 MiB, not 64"). Without it a
 * process that receives blobs (a pull-through fill, a push, the client's pull) falls into a loop of
 * mark-compacts: every socket read is a new ArrayBuffer, V8 counts those not yet scavenged against the
 * old generation's small slack (docs/performance.md, "Full collections on the byte path"). V8 takes
 * the flag only at start-up (not from NODE_OPTIONS): `npm start` runs this file, and the benches
 * start Wharf with its flags. `--max-semi-space-size=2`: docs/s3.md, "Memory".
 *
 * `--no-allocation-site-pretenuring` stops V8 from allocating the objects of a literal straight in the
 * old generation once most of them survived scavenges, a decision it makes and undoes per process
 * from the survival it samples: under 64 connections a request's objects live about as long as a 2 MiB
 * young generation lasts, and a server process settled, at random, either in a mode with 13 % more
 * scavenges, each dearer, and 20-30 µs more CPU per manifest GET, or not (docs/performance.md,
 * "Two GC modes per process"; test/unit/pretenuring.test.ts checks the flag takes).
 *
 * `MALLOC_MMAP_THRESHOLD_=131072` (glibc, read at start-up, so set by `env` before node) keeps
 * the C library's mmap threshold at its default 128 KiB instead of letting it grow: otherwise the
 * first freed 1 MiB buffer (a part's slab, a socket read) raised it, later buffers of that size came
 * from the brk heap, and their bytes stayed resident after they were freed (12-20 MiB of a push's peak
 * RSS on S3, docs/s3.md "Memory: the C library's heap"). Other C libraries ignore the variable.
 */
import { wharfProgram } from './cli/program.js';

const program = wharfProgram();

// Once a command is done and nothing is left on the event loop (so stdout and stderr are written),
// exit at once with process.exitCode: a natural exit first tears down V8's heap, which after a
// transfer means freeing ~100 MiB of buffers one by one (83-371 ms under load after a 250 MiB
// `wharf copy`, 60-147 ms with this). `serve` never gets here while it serves.
process.once('beforeExit', () => process.exit());

program.parseAsync(process.argv).catch((err: unknown) => {
  if ((err as Error)?.name === 'ConfigError') {
    const message = (err as Error).message;
    process.stderr.write(`wharf: invalid configuration:${message.includes('\n') ? '\n' : ' '}${message}\n`);
  } else {
    process.stderr.write(`wharf: ${(err as Error).message ?? String(err)}\n`);
  }
  process.exit(1);
});
