/**
 * Real log writers for the rotation tests: Python's logging with a RotatingFileHandler (rotation by
 * renaming app.log → app.log.1 …) and logrotate with copytruncate. Each needs its binary; a test
 * that does not find it fails with the install hint.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { requireBinary } from './victoria.js';
import { tempDir } from './cli.js';

const PY_WRITER = `
import logging, logging.handlers, sys
path, start, n, max_bytes, topic = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
h = logging.handlers.RotatingFileHandler(path, maxBytes=max_bytes, backupCount=100)
h.setFormatter(logging.Formatter('%(message)s'))
log = logging.getLogger('writer')
log.addHandler(h)
log.setLevel(logging.INFO)
log.propagate = False
for i in range(start, start + n):
    log.info('{"timestamp": "2026-11-21T10:%02d:00Z", "consumer_lag": %d, "topic": "%s", "partition": 0, "consumer_group": "g", "latency_ms": 1}' % (i % 60, i, topic))
h.close()
`;

/** Appends Kafka lines from..from+n-1 through Python's logging; maxBytes > 0 rotates by renaming. */
export function pythonLogWrite(file: string, from: number, n: number, maxBytes: number, topic = 'orders'): void {
  const r = spawnSync(requireBinary('python3', 'python3'), ['-c', PY_WRITER, file, String(from), String(n), String(maxBytes), topic], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
}

/** Runs the real logrotate with copytruncate on one file (forced), its state and configuration in a temporary directory. */
export function logrotateCopytruncate(file: string): void {
  const conf = tempDir('pipeobs-logrotate-');
  writeFileSync(path.join(conf, 'logrotate.conf'), `${file} {\n  copytruncate\n  rotate 50\n  missingok\n  nocompress\n}\n`);
  const r = spawnSync(requireBinary('logrotate', 'logrotate'), ['-f', '-s', path.join(conf, 'status'), path.join(conf, 'logrotate.conf')], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
}
