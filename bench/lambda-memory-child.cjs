// One workflow Lambda bundle in its own Node process (bench/lambda-memory.ts): loads the bundle
// once (the init phase), then serves invocations sent over IPC and reports, after each, its wall
// time, CPU time, the heap in use and the process's peak RSS so far (what Lambda's REPORT line calls
// "Max Memory Used").
const { join } = require('node:path');
const { performance } = require('node:perf_hooks');

const [assetDir, handlerSpec] = process.argv.slice(2);
const dot = handlerSpec.lastIndexOf('.');
const handler = require(join(assetDir, handlerSpec.slice(0, dot)))[handlerSpec.slice(dot + 1)];
const usage = () => ({ heapUsed: process.memoryUsage().heapUsed, maxRssKb: process.resourceUsage().maxRSS });

process.on('message', async ({ id, event }) => {
  const cpu = process.cpuUsage();
  const started = performance.now();
  const done = (outcome) => {
    const c = process.cpuUsage(cpu);
    process.send({
      id,
      ...outcome,
      ms: performance.now() - started,
      cpuMs: (c.user + c.system) / 1000,
      ...usage(),
    });
  };
  try {
    done({ result: (await handler(event, { getRemainingTimeInMillis: () => 30_000 })) ?? null });
  } catch (error) {
    done({ error: { name: String(error?.name), message: String(error?.message).slice(0, 2000) } });
  }
});
process.send({ ready: true, ...usage() });
