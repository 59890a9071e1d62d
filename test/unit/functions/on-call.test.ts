/**
 * On-call: alert bodies a person can act on, invalid-playlist incidents (one alert per incident,
 * exactly once under concurrent executions), and the audit record every changing execution keeps.
 */
import { alertPayloadOf, runbookAnchor, snsSubject } from '../../../functions/alerts';
import { AUDIT_LOG_MESSAGE, auditRecordOfLogLine, buildAuditRecord } from '../../../functions/audit';
import { emptyChannelState } from '../../../functions/channel-state';
import { parseSettings } from '../../../functions/config';
import { PlaylistInvalidError } from '../../../functions/errors';
import { createDeps, jsonLogger } from '../../../functions/handlers/deps';
import { createPublishMetrics } from '../../../functions/handlers/publish-metrics';
import { createRecordInvalidPlaylist } from '../../../functions/handlers/record-invalid-playlist';
import type { Transition } from '../../../functions/hls';
import {
  causeMessage,
  INVALID_QUIET_MS,
  recordRejection,
  rulesOfCause,
  settleRejections,
} from '../../../functions/invalid-playlists';
import { stateKey } from '../../../functions/keys';
import { S3ObjectStore } from '../../../functions/store';
import type { ExecutionRecord } from '../../../local/engine';
import { engineWorkflow } from '../../support/engine-workflow';
import { FakeS3 } from '../../support/fake-s3';
import { fixture, mediaPlaylist } from '../../support/playlists';
import { BUCKET, workflow } from '../../support/workflow-driver';

const T0 = Date.parse('2026-11-24T10:00:00Z');
const TD = 2;
const INVALID = '#EXTM3U\n#EXTINF:x,\na.ts\n';

function setUp() {
  const s3 = new FakeS3();
  const run = workflow(s3);
  const upload = async (encoder: string, n: number) => {
    s3.now = T0 + n * TD * 1000;
    const results = [];
    for (const r of ['720p.m3u8', '360p.m3u8']) {
      s3.write(`ch1/${encoder}/${r}`, mediaPlaylist({ sequence: n - 3, count: 4 }));
      results.push(await run.event(`ch1/${encoder}/${r}`));
    }
    return results;
  };
  /** Output-locked encoders: both write segment n at once, then the events are handled. */
  const uploadBoth = async (n: number) => {
    s3.now = T0 + n * TD * 1000;
    const keys = ['primary', 'failover'].flatMap((e) =>
      ['720p.m3u8', '360p.m3u8'].map((r) => `ch1/${e}/${r}`),
    );
    for (const key of keys) s3.write(key, mediaPlaylist({ sequence: n - 3, count: 4 }));
    const results = [];
    for (const key of keys) results.push(await run.event(key));
    return results;
  };
  const start = async () => {
    for (const e of ['primary', 'failover']) {
      s3.write(`ch1/${e}/master.m3u8`, fixture('master-simple.m3u8'));
      await run.event(`ch1/${e}/master.m3u8`);
    }
    for (let n = 10; n <= 12; n++) await uploadBoth(n);
  };
  /** What the ASL does after ValidatePlaylist throws PlaylistInvalid: RecordInvalidPlaylist with the Catch's $.error. */
  const record = createRecordInvalidPlaylist(run.deps);
  const reject = async (key: string) => {
    const error = await run.handlers.validate({ bucket: BUCKET, key }).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(error).toBeInstanceOf(PlaylistInvalidError);
    return { key, error: { Error: 'PlaylistInvalid', Cause: (error as Error).message } };
  };
  return { s3, run, upload, uploadBoth, start, record, reject };
}

const subjects = (outputs: readonly { alerts: readonly { subject: string }[] }[]) =>
  outputs.flatMap((o) => o.alerts.map((a) => a.subject));

describe('alert bodies', () => {
  it('subjects are what SNS accepts: printable ASCII, no line breaks, under 100 characters', () => {
    expect(snsSubject('[hls-failover] sport ü: primary STALLED')).toBe(
      '[hls-failover] sport u: primary STALLED',
    );
    expect(snsSubject('[hls-failover] 新闻\n台: CHANNEL DOWN')).toBe('[hls-failover] ?? ?: CHANNEL DOWN');
    const long = snsSubject(`[hls-failover] ${'x'.repeat(200)}: failover STALLED`);
    expect(long).toHaveLength(99);
    expect(long.endsWith('...')).toBe(true);
    for (const subject of [long, snsSubject('ünïcödé ☃ \t\r\n')])
      expect(subject).toMatch(/^[\x20-\x7e]{1,99}$/);
  });

  it('a channel name outside ASCII: the subject is ASCII, the body and the channel attribute keep the name', async () => {
    const s3 = new FakeS3();
    const run = workflow(s3);
    s3.now = T0;
    const put = async (key: string, body: string) => {
      s3.write(key, body);
      return run.event(key);
    };
    for (const e of ['primary', 'failover'])
      await put(`sport ü/${e}/720p.m3u8`, mediaPlaylist({ sequence: 7, count: 4 }));
    s3.now = T0 + 60_000;
    const { alerts } = await run.tick();
    expect(alerts.map((a) => a.subject)).toContain('[hls-failover] sport u: CHANNEL DOWN');
    const down = alerts.find((a) => a.subject.endsWith('CHANNEL DOWN'));
    expect(down?.message.startsWith('sport ü: CHANNEL DOWN at ')).toBe(true);
    expect(down?.attributes.channel?.StringValue).toBe('sport ü');
  });

  it('STALLED carries the evidence: age in seconds and target durations, both encoders’ sequence numbers, the renditions affected', async () => {
    const { start, upload } = setUp();
    await start();
    const results = [];
    for (let n = 13; n <= 15; n++) results.push(...(await upload('failover', n)));
    const alert = results.flatMap((r) => r.health?.alerts ?? [])[0];
    expect(alert?.subject).toBe('[hls-failover] ch1: primary STALLED');
    const message = alert?.message ?? '';
    expect(message).toMatch(
      /720p\.m3u8: last segment 12, updated [\d.]+ s ago \([\d.]+ × target duration\); failover: last segment 13, updated [\d.]+ s ago/,
    );
    expect(message).toMatch(/^Evidence \(\d renditions?\):$/m);
    expect(message).toContain('What happened: ');
    const payload = alertPayloadOf(message);
    expect(payload).toMatchObject({
      kind: 'STALLED',
      severity: 'critical',
      channel: 'ch1',
      encoder: 'primary',
      incidentId: expect.stringMatching(/^primary-2026-11-24T10:00:/),
      incidentStart: expect.stringMatching(/^2026-11-24T10:00:/),
      now: { preferred: 'failover', withdrawn: ['primary'] },
      runbook: 'README.md#runbook-stalled',
    });
    const rendition = payload?.renditions?.find((r) => r.rendition === '720p.m3u8');
    expect(rendition?.encoders.primary).toMatchObject({ lastSequence: 12, status: 'stalled' });
    expect(rendition?.encoders.failover).toMatchObject({ lastSequence: 13, status: 'healthy' });
    expect(rendition?.encoders.primary?.ageSeconds).toBeGreaterThan(0);
    expect(rendition?.encoders.primary?.ageTargetDurations).toBeCloseTo(
      (rendition?.encoders.primary?.ageSeconds ?? 0) / TD,
      1,
    );
  });

  it('STALLED says what the system already did (steering, index order, withdrawal), the incident and what to check next', async () => {
    const { start, upload } = setUp();
    await start();
    const results = [];
    for (let n = 13; n <= 15; n++) results.push(...(await upload('failover', n)));
    const message = results.flatMap((r) => r.health?.alerts ?? [])[0]?.message ?? '';
    expect(message).toContain('steering and index order now prefer failover (was primary)');
    expect(message).toContain("replaced primary's media playlists with splices of the healthy encoder's");
    expect(message).toContain('Now: steering.json and index.m3u8 list failover first; withdrawn: primary.');
    expect(message).toMatch(/^Incident: primary-\S+, started 2026-11-24T10:00:\d\d\.\d{3}Z$/m);
    expect(message).toMatch(/^What to check next:\n {2}1\. /m);
    expect(message).toContain(`Runbook: ${runbookAnchor('STALLED')}`);
  });

  it('RECOVERED gives the incident, its start and how long it lasted', async () => {
    const { start, upload, uploadBoth } = setUp();
    await start();
    for (let n = 13; n <= 15; n++) await upload('failover', n);
    const results = [];
    for (let n = 16; n <= 19; n++) results.push(...(await uploadBoth(n)));
    const recovered = results
      .flatMap((r) => r.health?.alerts ?? [])
      .find((a) => a.subject.endsWith('RECOVERED'));
    expect(recovered).toBeDefined();
    const payload = alertPayloadOf(recovered?.message ?? '');
    expect(payload).toMatchObject({
      kind: 'RECOVERED',
      severity: 'info',
      incidentId: expect.stringMatching(/^primary-/),
      durationSeconds: expect.any(Number),
    });
    expect(recovered?.message).toMatch(/^Incident: primary-\S+, started \S+, lasted \d+ s$/m);
  });

  it('CHANNEL DOWN lists both encoders per rendition and says nothing could be steered', async () => {
    const { start, run, s3 } = setUp();
    await start();
    s3.now += 60_000;
    const tick = await run.tick();
    const down = tick.alerts.find((a) => a.subject === '[hls-failover] ch1: CHANNEL DOWN');
    const payload = alertPayloadOf(down?.message ?? '');
    expect(payload?.renditions?.map((r) => Object.keys(r.encoders).sort())).toEqual([
      ['failover', 'primary'],
      ['failover', 'primary'],
    ]);
    expect(payload?.incidentId).toMatch(/^channel-/);
    expect(down?.message).toContain('nothing (no healthy encoder to move to');
    expect(down?.attributes).toEqual({
      channel: { DataType: 'String', StringValue: 'ch1' },
      kind: { DataType: 'String', StringValue: 'CHANNEL DOWN' },
      severity: { DataType: 'String', StringValue: 'critical' },
    });
  });

  it('runbook anchors follow the README headings "### Runbook: <KIND>"', () => {
    expect(runbookAnchor('CHANNEL DOWN')).toBe('README.md#runbook-channel-down');
    expect(runbookAnchor('WORKFLOW FAILING')).toBe('README.md#runbook-workflow-failing');
    expect(runbookAnchor('INVALID PLAYLIST')).toBe('README.md#runbook-invalid-playlist');
  });
});

describe('the watchdog covers what events cannot', () => {
  it('one encoder silent while the other’s events are delayed: the watchdog alone raises STALLED and steers away', async () => {
    const { s3, run, start } = setUp();
    await start();
    // failover keeps writing, but its events never arrive; primary is silent.
    for (let n = 13; n <= 15; n++) {
      s3.now = T0 + n * TD * 1000;
      for (const r of ['720p.m3u8', '360p.m3u8'])
        s3.write(`ch1/failover/${r}`, mediaPlaylist({ sequence: n - 3, count: 4 }));
    }
    const tick = await run.tick();
    expect(tick.alerts.map((a) => a.subject)).toEqual(['[hls-failover] ch1: primary STALLED']);
    expect(tick.audit.flatMap((a) => a.decisions.map((d) => d.decision))).toEqual(
      expect.arrayContaining(['encoder-stalled', 'preferred-changed']),
    );
    expect(s3.body('ch1/steering.json')).toContain('"PATHWAY-PRIORITY":["failover","primary"]');
  });
});

describe('invalid-playlist incidents', () => {
  it('repeated invalid playlists from one encoder: one INVALID PLAYLIST alert for the incident, not one per file', async () => {
    const { s3, start, record, reject } = setUp();
    await start();
    const outputs = [];
    for (let i = 0; i < 3; i++) {
      s3.now += 2000;
      for (const r of ['720p.m3u8', '360p.m3u8']) {
        s3.write(`ch1/primary/${r}`, INVALID);
        outputs.push(await record({ bucket: BUCKET, ...(await reject(`ch1/primary/${r}`)) }));
      }
    }
    expect(subjects(outputs)).toEqual(['[hls-failover] ch1: primary INVALID PLAYLIST']);
    expect(outputs.every((o) => o.metrics.some((m) => m.name === 'InvalidPlaylists'))).toBe(true);
    expect(outputs.map((o) => o.audit[0]?.decisions[0]?.decision)).toEqual([
      'invalid-playlist-opened',
      ...Array(5).fill('invalid-playlist-continued'),
    ]);
  });

  it('the INVALID PLAYLIST alert names the file, the rules broken, the incident and what was (not) done', async () => {
    const { s3, start, record, reject } = setUp();
    await start();
    s3.write('ch1/primary/720p.m3u8', INVALID);
    const out = await record({ bucket: BUCKET, ...(await reject('ch1/primary/720p.m3u8')) });
    const alert = out.alerts[0];
    expect(alert?.attributes).toEqual({
      channel: { DataType: 'String', StringValue: 'ch1' },
      kind: { DataType: 'String', StringValue: 'INVALID PLAYLIST' },
      severity: { DataType: 'String', StringValue: 'warning' },
      encoder: { DataType: 'String', StringValue: 'primary' },
    });
    expect(alert?.message).toContain('What happened: ch1/primary/720p.m3u8 is invalid');
    expect(alert?.message).toContain('did not use ch1/primary/720p.m3u8');
    expect(alertPayloadOf(alert?.message ?? '')).toMatchObject({
      incidentId: expect.stringMatching(/^invalid-primary-/),
      details: { key: 'ch1/primary/720p.m3u8', rules: expect.arrayContaining(['extinf-invalid']) },
      runbook: 'README.md#runbook-invalid-playlist',
    });
  });

  it('exactly one alert when concurrent executions record invalid playlists of one encoder at once (conditional write)', async () => {
    const { s3, run, start, record, reject } = setUp();
    await start();
    s3.now += 2000;
    const rejections = [];
    for (const r of ['720p.m3u8', '360p.m3u8', 'extra-a.m3u8', 'extra-b.m3u8']) {
      s3.write(`ch1/primary/${r}`, INVALID);
      rejections.push(await reject(`ch1/primary/${r}`));
    }
    run.records.conditionFailures = 0;
    const outputs = await Promise.all(rejections.map((r) => record({ bucket: BUCKET, ...r })));
    expect(run.records.conditionFailures).toBeGreaterThan(0); // they did race
    expect(subjects(outputs)).toEqual(['[hls-failover] ch1: primary INVALID PLAYLIST']);
    const state = JSON.parse(run.records.body(stateKey('ch1')) ?? '{}');
    expect(state.invalid.primary.rejected).toBe(4);
    expect(Object.keys(state.invalid.primary.playlists).sort()).toEqual([
      '360p.m3u8',
      '720p.m3u8',
      'extra-a.m3u8',
      'extra-b.m3u8',
    ]);
  });

  it('ends when every rejected playlist validates again: one PLAYLISTS VALID AGAIN notice; the next invalid playlist opens a new incident', async () => {
    const { s3, start, record, reject, uploadBoth } = setUp();
    await start();
    s3.now = T0 + 13 * TD * 1000;
    for (const r of ['720p.m3u8', '360p.m3u8']) {
      s3.write(`ch1/primary/${r}`, INVALID);
      await record({ bucket: BUCKET, ...(await reject(`ch1/primary/${r}`)) });
    }
    const fixed = await uploadBoth(13);
    expect(fixed.flatMap((r) => r.health?.alerts ?? []).map((a) => a.subject)).toEqual([
      '[hls-failover] ch1: primary PLAYLISTS VALID AGAIN',
    ]);
    const notice = fixed.flatMap((r) => r.health?.alerts ?? [])[0];
    expect(alertPayloadOf(notice?.message ?? '')).toMatchObject({ severity: 'info', durationSeconds: 0 });
    expect(
      fixed.flatMap((r) => r.health?.audit ?? []).flatMap((a) => a.decisions.map((d) => d.decision)),
    ).toEqual(['invalid-playlist-narrowed', 'invalid-playlist-closed']);
    s3.now += TD * 1000;
    s3.write('ch1/primary/720p.m3u8', INVALID);
    const again = await record({ bucket: BUCKET, ...(await reject('ch1/primary/720p.m3u8')) });
    expect(subjects([again])).toEqual(['[hls-failover] ch1: primary INVALID PLAYLIST']);
  });

  it('a rejected playlist the encoder stopped writing no longer holds the incident open after the quiet period', () => {
    const at = T0;
    const opened = recordRejection(emptyChannelState('ch1'), {
      encoder: 'primary',
      rest: 'dropped.m3u8',
      rules: ['extinf-invalid'],
      at,
    });
    expect(opened.result.kind).toBe('opened');
    const soon = settleRejections(opened.state, { encoder: 'primary', rest: '720p.m3u8', at: at + 1000 });
    expect(soon.result.kind).toBe('none');
    const later = settleRejections(opened.state, {
      encoder: 'primary',
      rest: '720p.m3u8',
      at: at + INVALID_QUIET_MS,
    });
    expect(later.result.kind).toBe('closed');
    expect(later.state.invalid).toBeUndefined();
    // And a rejection after a quiet incident opens a new one (a new alert), not a silent join.
    const reopened = recordRejection(opened.state, {
      encoder: 'primary',
      rest: '720p.m3u8',
      rules: [],
      at: at + INVALID_QUIET_MS,
    });
    expect(reopened.result.kind).toBe('opened');
  });

  it('reads rule ids and the message out of a Lambda error Cause (JSON) or a local one (text)', () => {
    const text =
      'x is invalid (2 violations): line 2 extinf-invalid: bad; line 1 targetduration-missing: add';
    expect(rulesOfCause(text)).toEqual(['extinf-invalid', 'targetduration-missing']);
    expect(
      causeMessage(JSON.stringify({ errorType: 'PlaylistInvalid', errorMessage: text, trace: [] })),
    ).toBe(text);
    expect(causeMessage(text)).toBe(text);
  });
});

describe('alerts mean one thing each (one alert and one recovery per incident)', () => {
  /** Runs the workflow through a scenario and keeps every alert subject, in order. */
  function scenario() {
    const setup = setUp();
    const { s3, run, record } = setup;
    const sent: string[] = [];
    const withdrawals: string[] = [];
    const keep = (out: { alerts: readonly { subject: string }[]; transitions: readonly Transition[] }) => {
      sent.push(...out.alerts.map((a) => a.subject.replace('[hls-failover] ch1: ', '')));
      for (const t of out.transitions) if (t.kind === 'withdrawal-changed') withdrawals.push(...t.withdrawn);
    };
    /** Segment n, lock-step: each encoder in `bodies` writes both renditions (a body per rendition, or none). */
    const segment = async (n: number, bodies: Record<string, Partial<Record<string, string>>>) => {
      s3.now = T0 + n * TD * 1000;
      const keys: string[] = [];
      for (const [encoder, renditions] of Object.entries(bodies))
        for (const r of ['720p.m3u8', '360p.m3u8']) {
          const body = renditions[r] ?? mediaPlaylist({ sequence: n - 3, count: 4 });
          s3.write(`ch1/${encoder}/${r}`, body);
          keys.push(`ch1/${encoder}/${r}`);
        }
      for (const key of keys) {
        const out = await run.event(key).catch((e: Error) => e);
        if (out instanceof PlaylistInvalidError)
          keep(await record({ bucket: BUCKET, key, error: { Error: out.name, Cause: out.message } }));
        else if (out instanceof Error) throw out;
        else if (out.health !== undefined) keep(out.health);
      }
    };
    const both = (n: number) => segment(n, { primary: {}, failover: {} });
    const tick = async () => keep(await run.tick());
    return { ...setup, sent, withdrawals, segment, both, tick };
  }
  const truncated = (n: number) => {
    const whole = mediaPlaylist({ sequence: n - 3, count: 4 });
    return whole.slice(0, whole.lastIndexOf(`seg_${n}.ts`)); // cut mid-upload: the last #EXTINF has no URI
  };

  it('one truncated playlist, then valid ones: INVALID PLAYLIST and PLAYLISTS VALID AGAIN, no STALLED, nothing withdrawn', async () => {
    const { start, segment, both, tick, sent, withdrawals } = scenario();
    await start();
    await segment(13, { primary: { '720p.m3u8': truncated(13) }, failover: {} });
    await tick();
    for (let n = 14; n <= 18; n++) {
      await both(n);
      await tick();
    }
    expect(sent).toEqual(['primary INVALID PLAYLIST', 'primary PLAYLISTS VALID AGAIN']);
    expect(withdrawals).toEqual([]);
  });

  it('an encoder writing only invalid playlists past the stall threshold is withdrawn within its INVALID PLAYLIST incident: no STALLED, no RECOVERED', async () => {
    const { start, segment, both, tick, sent, withdrawals } = scenario();
    await start();
    for (let n = 13; n <= 16; n++) {
      await segment(n, { primary: { '720p.m3u8': INVALID, '360p.m3u8': INVALID }, failover: {} });
      await tick();
    }
    for (let n = 17; n <= 22; n++) {
      await both(n);
      await tick();
    }
    expect(withdrawals).toEqual(['primary']);
    expect(sent).toEqual(['primary INVALID PLAYLIST', 'primary PLAYLISTS VALID AGAIN']);
  });

  it('PLAYLISTS VALID AGAIN waits while the stored object is a rejected version (an acceptance settled after a later rejection)', async () => {
    const { s3, run, start, record, reject, sent, both } = scenario();
    await start();
    const key = 'ch1/primary/720p.m3u8';
    s3.now = T0 + 13 * TD * 1000;
    s3.write(key, INVALID);
    await record({ bucket: BUCKET, ...(await reject(key)) });
    // Version 14 is accepted; before its freshness check runs, version 15 is written and rejected.
    s3.now = T0 + 14 * TD * 1000;
    s3.write(key, mediaPlaylist({ sequence: 11, count: 4 }));
    const accepted = await run.handlers.validate({ bucket: BUCKET, key });
    s3.now = T0 + 15 * TD * 1000;
    s3.write(key, INVALID);
    await record({ bucket: BUCKET, ...(await reject(key)) });
    const late = await run.handlers.check({ playlist: accepted });
    expect(late.alerts.map((a) => a.subject)).toEqual([]);
    await both(16);
    expect(sent.filter((k) => k.endsWith('VALID AGAIN'))).toEqual(['primary PLAYLISTS VALID AGAIN']);
  });

  it('both encoders silent, then back: one CHANNEL DOWN and one CHANNEL UP, no STALLED or RECOVERED', async () => {
    const { s3, start, both, tick, sent } = scenario();
    await start();
    s3.now += 10_000;
    await tick();
    for (let n = 20; n <= 25; n++) {
      await both(n);
      await tick();
    }
    expect(sent).toEqual(['CHANNEL DOWN', 'CHANNEL UP']);
  });

  it('one encoder stalls, then the other: STALLED, then CHANNEL DOWN takes it over; both back is one CHANNEL UP', async () => {
    const { s3, start, segment, both, tick, sent } = scenario();
    await start();
    for (let n = 13; n <= 16; n++) await segment(n, { failover: {} });
    s3.now += 10_000;
    await tick();
    for (let n = 25; n <= 30; n++) {
      await both(n);
      await tick();
    }
    expect(sent).toEqual(['primary STALLED', 'CHANNEL DOWN', 'CHANNEL UP']);
  });

  it('a channel fed by one encoder that goes silent is CHANNEL DOWN (the watchdog catches it), and CHANNEL UP when it is back', async () => {
    const { s3, run, segment, tick, sent } = scenario();
    s3.write('ch1/primary/master.m3u8', fixture('master-simple.m3u8'));
    await run.event('ch1/primary/master.m3u8');
    for (let n = 10; n <= 12; n++) await segment(n, { primary: {} });
    s3.now += 10_000;
    await tick();
    await tick();
    for (let n = 20; n <= 24; n++) {
      await segment(n, { primary: {} });
      await tick();
    }
    expect(sent).toEqual(['CHANNEL DOWN', 'CHANNEL UP']);
  });

  it('the workflow back after a gap while both encoders are healthy raises nothing', async () => {
    const { s3, start, segment, both, tick, sent } = scenario();
    await start();
    s3.now += 60_000; // the workflow and its storage were down: nothing was written or seen
    // Back: the primary reconnects a segment before the failover.
    await segment(41, { primary: {} });
    await tick();
    await segment(42, { primary: {} });
    await segment(42, { failover: {} });
    await tick();
    for (let n = 43; n <= 48; n++) {
      await both(n);
      await tick();
    }
    expect(sent).toEqual([]);
  });
});

describe('uploads processed late', () => {
  it('an upload replayed after the workflow was away (processed a stall threshold after it was written) raises nothing', async () => {
    const { s3, run, start, uploadBoth } = setUp();
    await start();
    // Both encoders write segment 13; the workflow goes away before it sees them and replays the
    // uploads 5 s later (a local runtime restarted on its journal), before the encoders write again.
    s3.now = T0 + 13 * TD * 1000;
    const keys = [
      'ch1/primary/720p.m3u8',
      'ch1/primary/360p.m3u8',
      'ch1/failover/720p.m3u8',
      'ch1/failover/360p.m3u8',
    ];
    for (const key of keys) s3.write(key, mediaPlaylist({ sequence: 10, count: 4 }));
    s3.now += 5_000;
    const replayed = [];
    for (const key of keys) replayed.push(await run.event(key));
    expect(replayed.map((r) => r.playlist.action === 'process' && r.playlist.resumed)).toEqual([
      true,
      true,
      true,
      true,
    ]);
    const later = [...(await uploadBoth(16)), ...(await uploadBoth(17))];
    expect(
      subjects([...replayed, ...later].flatMap((r) => (r.health === undefined ? [] : [r.health]))),
    ).toEqual([]);
  });
});

describe('a corrupt state record', () => {
  it.each([
    ['not JSON', '{"version":1,"chan'],
    ['not the shape', JSON.stringify({ version: 1, channel: 'ch1', masters: {}, health: { encoders: 3 } })],
  ])(
    '(%s) alerts once, is rebuilt from the bucket and the accepted records, and touches no other channel',
    async (_, body) => {
      const { s3, run, start, uploadBoth } = setUp();
      await start();
      const other = 'ch2/primary/720p.m3u8';
      s3.write(other, mediaPlaylist({ sequence: 9, count: 4 }));
      await run.event(other);
      const otherState = run.records.body(stateKey('ch2'));
      const index = s3.body('ch1/index.m3u8');
      run.records.write(stateKey('ch1'), body);
      const outputs = [...(await uploadBoth(13)), ...(await uploadBoth(14))].flatMap((r) =>
        r.health === undefined ? [] : [r.health],
      );
      outputs.push(await run.tick());
      expect(subjects(outputs)).toEqual(['[hls-failover] ch1: STATE REBUILT']);
      const alert = outputs.flatMap((o) => o.alerts)[0];
      expect(alertPayloadOf(alert?.message ?? '')).toMatchObject({
        kind: 'STATE REBUILT',
        severity: 'warning',
        reason: expect.stringContaining("the channel's state record was corrupt"),
      });
      const rebuilt = JSON.parse(run.records.body(stateKey('ch1')) ?? '{}');
      expect(Object.keys(rebuilt.masters).sort()).toEqual(['failover', 'primary']);
      expect(rebuilt.health.encoders.primary.status).toBe('healthy');
      expect(s3.body('ch1/index.m3u8')).toBe(index);
      expect(run.records.body(stateKey('ch2'))).toBe(otherState);
    },
  );

  it('found by concurrent executions at once: exactly one replaces it and alerts (conditional write)', async () => {
    const { s3, run, start } = setUp();
    await start();
    run.records.write(stateKey('ch1'), 'garbage');
    s3.now = T0 + 13 * TD * 1000;
    const keys = ['primary', 'failover'].flatMap((e) =>
      ['720p.m3u8', '360p.m3u8'].map((r) => `ch1/${e}/${r}`),
    );
    for (const key of keys) s3.write(key, mediaPlaylist({ sequence: 10, count: 4 }));
    run.records.conditionFailures = 0;
    const results = await Promise.all(keys.map((key) => run.event(key)));
    expect(run.records.conditionFailures).toBeGreaterThan(0); // they did race
    expect(subjects(results.flatMap((r) => (r.health === undefined ? [] : [r.health])))).toEqual([
      '[hls-failover] ch1: STATE REBUILT',
    ]);
  });

  it('found by the watchdog: alerts once and is rebuilt', async () => {
    const { run, start } = setUp();
    await start();
    run.records.write(stateKey('ch1'), 'garbage');
    const first = await run.tick();
    const second = await run.tick();
    expect(subjects([first, second])).toEqual(['[hls-failover] ch1: STATE REBUILT']);
    expect(JSON.parse(run.records.body(stateKey('ch1')) ?? '{}').health.encoders.failover.status).toBe(
      'healthy',
    );
  });
});

describe('invalid playlists on the real ASL engine', () => {
  function engineSetUp() {
    const { s3, engine, alerts } = engineWorkflow();
    const event = (key: string) => ({
      source: 'aws.s3',
      'detail-type': 'Object Created',
      time: '2026-11-24T10:00:00Z',
      detail: { bucket: { name: BUCKET }, object: { key, sequencer: `00${key.length}` } },
    });
    return { s3, engine, alerts, event };
  }

  it('concurrent executions rejecting one encoder’s playlists: one alert, every execution FAILED as PlaylistInvalid with its reason and an audit record', async () => {
    const { s3, engine, alerts, event } = engineSetUp();
    const keys = ['ch1/primary/720p.m3u8', 'ch1/primary/360p.m3u8', 'ch1/primary/1080p.m3u8'];
    for (const key of keys) s3.write(key, INVALID);
    const records = await Promise.all(keys.map((k) => engine.run(event(k))));
    expect(alerts).toEqual(['[hls-failover] ch1: primary INVALID PLAYLIST']);
    for (const r of records) {
      expect(r).toMatchObject({ status: 'FAILED', error: 'PlaylistInvalid' });
      expect(r.cause).toContain('extinf-invalid');
    }
    const audits = records.map(
      (r: ExecutionRecord) =>
        (
          r.events.find(
            (e) =>
              (e as { type: string; state?: { name: string } }).type === 'StateExited' &&
              (e as { state: { name: string } }).state.name === 'PublishHealthMetrics',
          ) as { state: { output: { audit: ReturnType<typeof buildAuditRecord> } } }
        ).state.output.audit,
    );
    expect(audits.map((a) => a?.channels[0]?.decisions[0]?.decision).sort()).toEqual([
      'invalid-playlist-continued',
      'invalid-playlist-continued',
      'invalid-playlist-opened',
    ]);
    expect(audits.every((a) => a?.trigger.source === 's3' && a.execution.startsWith('arn:aws:states:'))).toBe(
      true,
    );
  });
});

describe('the audit record', () => {
  const base = { executionId: 'arn:aws:states:eu-west-1:1:express:sm:e1', startedAt: '2026-11-24T10:00:28Z' };

  it('is null for an execution that changed nothing an auditor asks about', () => {
    expect(
      buildAuditRecord({
        ...base,
        data: {
          detail: { object: { key: 'ch1/primary/720p.m3u8' } },
          health: { alerts: [], audit: [] },
          actions: [
            { channel: 'ch1', index: { index: { key: 'ch1/index.m3u8', written: false, hashAfter: 'a' } } },
          ],
        },
      }),
    ).toBeNull();
  });

  it('keeps event key and sequencer, decisions with reason and incident, before/after hashes, withdrawals and alerts', async () => {
    const { run, start, upload } = setUp();
    await start();
    let stalled: Awaited<ReturnType<typeof upload>>[number] | undefined;
    for (let n = 13; n <= 15 && stalled === undefined; n++) {
      stalled = (await upload('failover', n)).find((r) => (r.health?.alerts.length ?? 0) > 0);
    }
    expect(stalled).toBeDefined();
    // What the ASL hands PublishHealthMetrics: the execution's data, with the channel actions' outputs.
    const channel = stalled?.health?.channels[0];
    const index = channel === undefined ? undefined : await run.handlers.merge(channel);
    const record = buildAuditRecord({
      ...base,
      data: {
        detail: { object: { key: 'ch1/failover/720p.m3u8', sequencer: '0062E99A88DC407460' } },
        ...(stalled?.health === undefined ? {} : { health: stalled.health }),
        actions: [
          {
            channel: 'ch1',
            ...(index === undefined ? {} : { index }),
            withdrawal: { deleted: { primary: ['ch1/primary/720p.m3u8'] } },
          },
        ],
      },
    });
    expect(record).toMatchObject({
      v: 1,
      execution: base.executionId,
      at: base.startedAt,
      trigger: { source: 's3', key: 'ch1/failover/720p.m3u8', sequencer: '0062E99A88DC407460' },
    });
    const ch1 = record?.channels[0];
    expect(ch1?.channel).toBe('ch1');
    expect(ch1?.decisions).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          decision: 'encoder-stalled',
          encoder: 'primary',
          incidentId: expect.stringMatching(/^primary-/),
        }),
        expect.objectContaining({
          decision: 'preferred-changed',
          reason: expect.stringContaining('primary → failover'),
        }),
      ]),
    );
    expect(ch1?.changes).toEqual(
      expect.arrayContaining([
        {
          object: 'health',
          before: expect.stringMatching(/^[0-9a-f]{64}$/),
          after: expect.stringMatching(/^[0-9a-f]{64}$/),
        },
      ]),
    );
    expect(ch1?.withdrawn).toEqual(['ch1/primary/720p.m3u8']);
    expect(ch1?.alerts).toEqual([
      {
        kind: 'STALLED',
        subject: '[hls-failover] ch1: primary STALLED',
        encoder: 'primary',
        incidentId: expect.stringMatching(/^primary-/),
      },
    ]);
  });

  describe('its log line (the audit trail on AWS: PublishHealthMetrics’ log group)', () => {
    /** PublishHealthMetrics with its real JSON logger, writing its log lines to an array. */
    const publish = () => {
      const lines: string[] = [];
      const handler = createPublishMetrics(
        createDeps({
          functionName: 'PublishHealthMetrics',
          store: new S3ObjectStore(new FakeS3().client),
          settings: parseSettings({}),
          log: jsonLogger('PublishHealthMetrics', (l) => lines.push(l)),
          emitMetricLine: () => undefined,
        }),
      );
      return { handler, lines };
    };

    it('is one JSON line holding the record of an execution that changed something', async () => {
      const { handler, lines } = publish();
      const returned = await handler({
        metrics: [],
        audit: {
          ...base,
          data: {
            source: 'hls-failover.watchdog',
            error: { Error: 'StorageUnavailable', Cause: 'GetObject failed transiently' },
          },
        },
      });
      expect(returned).not.toBeNull();
      expect(lines).toHaveLength(1);
      expect(JSON.parse(lines[0] ?? '')).toMatchObject({
        level: 'INFO',
        function: 'PublishHealthMetrics',
        message: AUDIT_LOG_MESSAGE,
      });
      expect(auditRecordOfLogLine(lines[0] ?? '')).toEqual(returned);
    });

    it('is not written for a routine execution (no record)', async () => {
      const { handler, lines } = publish();
      const returned = await handler({
        metrics: [],
        audit: { ...base, data: { detail: { object: { key: 'ch1/primary/720p.m3u8' } }, health: {} } },
      });
      expect(returned).toBeNull();
      expect(lines).toEqual([]);
    });

    it('is told from the function’s other lines (EMF, warnings) and from lines cut short', () => {
      expect(auditRecordOfLogLine('{"_aws":{},"EncoderDown":0}')).toBeUndefined();
      expect(auditRecordOfLogLine('{"level":"WARN","message":"audit record"}')).toBeUndefined();
      expect(
        auditRecordOfLogLine('{"level":"INFO","message":"audit record","audit":{"v":1,'),
      ).toBeUndefined();
    });
  });

  it('records a failed step with its error and readable cause', () => {
    const record = buildAuditRecord({
      ...base,
      data: {
        source: 'hls-failover.watchdog',
        error: {
          Error: 'StorageUnavailable',
          Cause: JSON.stringify({
            errorType: 'StorageUnavailable',
            errorMessage: 'GetObject failed transiently',
          }),
        },
      },
    });
    expect(record).toMatchObject({
      trigger: { source: 'watchdog' },
      channels: [],
      failure: { error: 'StorageUnavailable', cause: 'GetObject failed transiently' },
    });
  });
});
