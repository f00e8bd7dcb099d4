// Preloaded into the hub processes the bench starts (node --require): reports the V8 heap to the bench over
// IPC every BENCH_PROBE_MS and on request, and writes a heap snapshot when asked. Holds nothing alive.
'use strict';
const v8 = require('node:v8');
const path = require('node:path');

if (typeof process.send === 'function') {
  const report = () => {
    if (!process.connected) return;
    const { heapUsed, heapTotal, rss, external, arrayBuffers } = process.memoryUsage();
    process.send({ heapUsed, heapTotal, rss, external, arrayBuffers });
  };
  const timer = setInterval(report, Number(process.env.BENCH_PROBE_MS || 100));
  timer.unref();
  process.on('message', (message) => {
    if (message && message.sample) report();
    if (message && typeof message.snapshot === 'string') {
      const file = v8.writeHeapSnapshot(path.join(message.snapshot, `hub-${process.pid}-${Date.now()}.heapsnapshot`));
      process.send({ snapshotWritten: file });
    }
  });
  process.channel.unref();
}
