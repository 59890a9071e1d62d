/**
 * Load generator for the local pipeline bench, run on its own thread (as real encoders run outside
 * the runtime's process): live encoders that ingest through the local origin's HTTP PUT, the way
 * `ffmpeg -f hls -method PUT` does. Per channel, two lock-step encoders; per encoder, every
 * segment period and for every rendition at once: PUT the new segment, PUT the media playlist
 * (sliding window, media sequence + 1), DELETE the segment that left the window (ffmpeg's
 * `delete_segments`). Channels start evenly spread over one period (independent encoders), the
 * second encoder of a channel a few ms after the first (lock-step pairs write at about the same
 * time).
 *
 * Plain CommonJS (no TypeScript loader needed in the worker). Protocol: workerData is the plan;
 * posts { type: 'ready' } after the masters and first playlists, waits for { type: 'go', at },
 * runs until { type: 'stop' }, then posts { type: 'done', puts } and exits. { type: 'stall', channel,
 * encoder } stops one encoder's uploads (its clock and numbering go on, as a stalled encoder's do);
 * { type: 'resume', channel, encoder } starts them again.
 */
'use strict';

const { parentPort, workerData } = require('node:worker_threads');

/** @type {{ origin: string, channels: number, renditions: number, encoders: string[], periodMs: number, windowSegments: number, segmentBytes: number[], pairOffsetMs: number, firstSequence: number }} */
const plan = workerData;
const targetDuration = Math.ceil(plan.periodMs / 1000);
const extinf = (plan.periodMs / 1000).toFixed(3);

function mediaPlaylist(sequence) {
  const lines = [
    '#EXTM3U',
    '#EXT-X-VERSION:3',
    `#EXT-X-TARGETDURATION:${targetDuration}`,
    `#EXT-X-MEDIA-SEQUENCE:${sequence}`,
  ];
  for (let n = sequence; n < sequence + plan.windowSegments; n++)
    lines.push(`#EXTINF:${extinf},`, `seg_${n}.ts`);
  return `${lines.join('\n')}\n`;
}

function masterPlaylist() {
  const lines = ['#EXTM3U', '#EXT-X-VERSION:3', '#EXT-X-INDEPENDENT-SEGMENTS'];
  for (let r = 0; r < plan.renditions; r++) {
    const bandwidth = Math.max(
      64_000,
      Math.round(((plan.segmentBytes[r] ?? 0) * 8) / (plan.periodMs / 1000)),
    );
    lines.push(`#EXT-X-STREAM-INF:BANDWIDTH=${bandwidth},CODECS="avc1.4d401f,mp4a.40.2"`, `r${r}.m3u8`);
  }
  return `${lines.join('\n')}\n`;
}

const segmentBodies = plan.segmentBytes.map((bytes) => (bytes > 0 ? Buffer.alloc(bytes, 0x47) : undefined));

/** Playlist PUTs: [startedEpochMs, latencyMs, status]. */
const puts = [];
let segmentPuts = 0;
let deletes = 0;
let failures = 0;
let lateTicks = 0;
/** `${channel}/${encoder}` of the stalled encoders. */
const stalled = new Set();

/** The response's status, or 0 when the request failed without one (e.g. a connect timeout under overload). */
async function request(method, path, body) {
  try {
    const res = await fetch(`${plan.origin}/${path}`, { method, ...(body === undefined ? {} : { body }) });
    await res.arrayBuffer();
    if (res.status >= 300 && !(method === 'DELETE' && res.status === 404)) failures++;
    return res.status;
  } catch {
    // Counted as a failed ingest (the step misses) rather than ending the whole bench.
    failures++;
    return 0;
  }
}

async function rendition(channel, encoder, r, sequence) {
  const folder = `ch${channel}/${encoder}`;
  const newest = sequence + plan.windowSegments - 1;
  const segment = segmentBodies[r];
  if (segment !== undefined) {
    await request('PUT', `${folder}/r${r}/seg_${newest}.ts`, segment);
    segmentPuts++;
  }
  const started = performance.timeOrigin + performance.now();
  const status = await request('PUT', `${folder}/r${r}.m3u8`, mediaPlaylist(sequence));
  puts.push([started, performance.timeOrigin + performance.now() - started, status]);
  if (segment !== undefined && sequence > plan.firstSequence) {
    await request('DELETE', `${folder}/r${r}/seg_${sequence - 1}.ts`);
    deletes++;
  }
}

async function tick(channel, encoder, sequence) {
  const renditions = [];
  for (let r = 0; r < plan.renditions; r++) renditions.push(rendition(channel, encoder, r, sequence));
  await Promise.all(renditions);
}

async function prepare() {
  const all = [];
  for (let c = 0; c < plan.channels; c++)
    for (const encoder of plan.encoders) {
      all.push(
        (async () => {
          await request('PUT', `ch${c}/${encoder}/master.m3u8`, masterPlaylist());
          await tick(c, encoder, plan.firstSequence);
        })(),
      );
    }
  await Promise.all(all);
}

function run(startAt) {
  const timers = [];
  const running = new Set();
  let stopped = false;
  for (let c = 0; c < plan.channels; c++) {
    plan.encoders.forEach((encoder, e) => {
      const offset = (c * plan.periodMs) / plan.channels + e * plan.pairOffsetMs;
      let sequence = plan.firstSequence;
      let busy = false;
      const fire = () => {
        if (stopped) return;
        sequence++;
        if (stalled.has(`${c}/${encoder}`)) return;
        if (busy) lateTicks++; // the previous tick's PUTs have not finished: the encoder is falling behind
        busy = true;
        const done = tick(c, encoder, sequence).finally(() => {
          busy = false;
          running.delete(done);
        });
        running.add(done);
      };
      const first = setTimeout(
        () => {
          fire();
          timers.push(setInterval(fire, plan.periodMs));
        },
        Math.max(0, startAt + offset - Date.now()),
      );
      timers.push(first);
    });
  }
  return async () => {
    stopped = true;
    for (const t of timers) clearTimeout(t);
    while (running.size > 0) await Promise.allSettled([...running]);
  };
}

let stop;
parentPort.on('message', async (message) => {
  if (message.type === 'go') stop = run(message.at);
  else if (message.type === 'stall') stalled.add(`${message.channel}/${message.encoder}`);
  else if (message.type === 'resume') stalled.delete(`${message.channel}/${message.encoder}`);
  else if (message.type === 'stop') {
    if (stop !== undefined) await stop();
    parentPort.postMessage({ type: 'done', puts, segmentPuts, deletes, failures, lateTicks });
    parentPort.close();
  }
});
prepare().then(
  () => parentPort.postMessage({ type: 'ready' }),
  (error) => parentPort.postMessage({ type: 'error', message: String(error?.stack ?? error) }),
);
