/**
 * The chaos test's oracle, the half that reads the runtime: what it alerted and which executions
 * failed (from the data dir's JSON-lines sinks, which outlive every kill), and whether the channel
 * as served matches its state: withdrawn encoders' playlists gone, index.m3u8 valid (hls-parser,
 * strict) and led by the preferred encoder, steering.json saying the same. Each check returns the
 * problems it found, in words, so the test reports all of them at once.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Alert, alertPayloadOf } from '../../functions/alerts';
import type { ChannelView } from '../../functions/channel-view';
import { parseWithHlsParser } from '../../functions/hls/parser';
import { sinkFiles } from '../../local/json-lines-sink';
import { CHANNEL, type InvalidWrite } from './chaos-encoders';
import { alertLabel, ENCODERS, type EncoderName, RENDITIONS } from './chaos-schedule';
import type { Timeline } from './chaos-timeline';

/** One JSON-lines sink of the data dir, rotated files first. */
function readSink<T>(dataDir: string, name: string): T[] {
  return sinkFiles(join(dataDir, name)).flatMap((file) =>
    readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as T),
  );
}

export interface ObservedAlert {
  readonly at: number;
  readonly label: string;
  readonly channel: string;
  readonly incidentId: string | undefined;
}

/** Every alert the runtime published, in order (alerts.jsonl). */
export function readAlerts(dataDir: string): ObservedAlert[] {
  if (!existsSync(join(dataDir, 'alerts.jsonl'))) return [];
  return readSink<Alert & { at: string }>(dataDir, 'alerts.jsonl').map((alert) => {
    const attribute = (name: string) => alert.attributes[name]?.StringValue;
    return {
      at: Date.parse(alert.at),
      label: `${alertLabel(attribute('kind') ?? alert.subject, attribute('encoder'))}${attribute('channel') === CHANNEL ? '' : ` (channel ${attribute('channel')})`}`,
      channel: attribute('channel') ?? '',
      incidentId: alertPayloadOf(alert.message)?.incidentId,
    };
  });
}

interface ExecutionLine {
  readonly name: string;
  readonly status: string;
  readonly error?: string;
  readonly cause?: string;
  readonly startedAt: number;
  readonly input?: { readonly detail?: { readonly object?: { readonly key?: string } } };
}

export interface FailedExecution {
  readonly at: number;
  readonly name: string;
  readonly error: string;
  readonly cause: string;
  /** The key whose event started it; undefined for the watchdog's. */
  readonly key: string | undefined;
}

/** Every failed execution (executions.jsonl). */
export function readFailedExecutions(dataDir: string): FailedExecution[] {
  if (!existsSync(join(dataDir, 'executions.jsonl'))) return [];
  return readSink<ExecutionLine>(dataDir, 'executions.jsonl')
    .filter((e) => e.status !== 'SUCCEEDED')
    .map((e) => ({
      at: e.startedAt,
      name: e.name,
      error: e.error ?? e.status,
      cause: (e.cause ?? '').slice(0, 200),
      key: e.input?.detail?.object?.key,
    }));
}

/** Puts the runtime's side on the timeline: every alert and every failed execution. */
export function addRuntimeSide(timeline: Timeline, alerts: ObservedAlert[], failed: FailedExecution[]): void {
  for (const a of alerts)
    timeline.add('ALERT', `${a.label} (${a.channel}, incident ${a.incidentId ?? '?'})`, a.at);
  for (const f of failed)
    timeline.add('FAILED', `execution ${f.name} ${f.error} (${f.key ?? 'watchdog'}): ${f.cause}`, f.at);
}

/**
 * The failures the plan causes by design are PlaylistInvalid for the playlists it wrote invalid;
 * any other failed execution is a problem.
 */
export function unexpectedFailures(failed: FailedExecution[], writes: readonly InvalidWrite[]): string[] {
  const keys = new Set(writes.map((w) => w.key));
  return failed
    .filter((f) => !(f.error === 'PlaylistInvalid' && f.key !== undefined && keys.has(f.key)))
    .map((f) => `unexpected failed execution ${f.name}: ${f.error} (${f.key ?? 'watchdog'}): ${f.cause}`);
}

/** How long after an invalid write an execution that read it may start: the next tick overwrites it. */
const READ_WITHIN_MS = 2000;

/**
 * The steps whose invalid write no execution read (no PlaylistInvalid for its key started soon
 * after it): the next tick overwrote it first (executions far behind under load), so that fault
 * injected nothing and is not expected to raise an incident.
 */
export function faultsNotTaken(failed: FailedExecution[], writes: readonly InvalidWrite[]): Set<number> {
  const read = (w: InvalidWrite) =>
    failed.some(
      // startedAt is the runtime's clock, the write's the test's: the same machine, a little slack.
      (f) =>
        f.error === 'PlaylistInvalid' &&
        f.key === w.key &&
        f.at >= w.at - 100 &&
        f.at < w.at + READ_WITHIN_MS,
    );
  return new Set(writes.filter((w) => !read(w)).map((w) => w.step));
}

/**
 * The channel as served against its state, now: each withdrawn encoder's media playlists answer
 * 404 and the others' 200; index.m3u8 parses (strict) as a master whose first variant is the
 * preferred encoder's; steering.json puts the preferred encoder first.
 */
export async function servedMatchesState(
  originUrl: string,
  view: ChannelView,
  what: string,
): Promise<string[]> {
  const problems: string[] = [];
  const get = (path: string) => fetch(`${originUrl}/${CHANNEL}/${path}`);
  for (const encoder of view.encoders) {
    for (const rendition of RENDITIONS) {
      const status = (await get(`${encoder.name}/${rendition}`)).status;
      const expected = encoder.withdrawn ? 404 : 200;
      if (status !== expected)
        problems.push(
          `${what}: ${encoder.name}/${rendition} answers ${status}, but the state says ${encoder.name} is ${encoder.withdrawn ? '' : 'not '}withdrawn`,
        );
    }
  }
  const index = await get('index.m3u8');
  if (index.status !== 200) problems.push(`${what}: index.m3u8 answers ${index.status}`);
  else {
    const parsed = parseWithHlsParser(await index.text(), true);
    if (!parsed.success)
      problems.push(`${what}: index.m3u8 is not valid (hls-parser strict): ${parsed.message}`);
    else if (!parsed.playlist.isMasterPlaylist) problems.push(`${what}: index.m3u8 is not a master playlist`);
    else {
      const first = parsed.playlist.variants[0]?.uri;
      if (!first?.startsWith(`${view.preferred}/`))
        problems.push(`${what}: index.m3u8 leads with ${first}, but the state prefers ${view.preferred}`);
    }
  }
  const steering = await steeringOf(originUrl);
  if (steering.priority?.[0] !== view.preferred)
    problems.push(`${what}: steering.json prefers ${steering.says}, but the state prefers ${view.preferred}`);
  return problems;
}

/** steering.json's PATHWAY-PRIORITY, and in words what it says (or its status when it is missing). */
async function steeringOf(originUrl: string): Promise<{ priority?: string[]; says: string }> {
  const res = await fetch(`${originUrl}/${CHANNEL}/steering.json`);
  if (!res.ok) return { says: `nothing (steering.json answers ${res.status})` };
  const priority = ((await res.json()) as { 'PATHWAY-PRIORITY'?: string[] })['PATHWAY-PRIORITY'] ?? [];
  return { priority, says: priority.join(' > ') };
}

/** While `dead` is down and the other encoder is healthy: its playlists are withdrawn and nobody is steered to it. */
export async function deadEncoderWithdrawn(
  originUrl: string,
  dead: EncoderName,
  what: string,
): Promise<string[]> {
  const problems: string[] = [];
  for (const rendition of RENDITIONS) {
    const status = (await fetch(`${originUrl}/${CHANNEL}/${dead}/${rendition}`)).status;
    if (status !== 404)
      problems.push(`${what}: ${dead}/${rendition} still answers ${status} (not withdrawn)`);
  }
  const steering = await steeringOf(originUrl);
  const alive = ENCODERS.find((e) => e !== dead);
  if (steering.priority?.[0] !== alive)
    problems.push(`${what}: steering.json prefers ${steering.says}, not ${alive}`);
  return problems;
}
