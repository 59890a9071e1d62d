/**
 * Alerts for on-call: one per owned transition that a person must know about. Pure: the
 * workflow publishes them (SNS on AWS, sinks locally). Subject like
 * `[hls-failover] <channel>: primary STALLED`; a body a person can act on at 3 a.m. (what
 * happened, the evidence, what the system already did, the incident, what to check next with a
 * runbook link); a JSON payload and SNS message attributes for machines (subscription filter
 * policies).
 */
import type { ChannelHealth, Transition } from './hls';
import type { InvalidIncident } from './invalid-playlists';

export type AlertKind =
  | 'STALLED'
  | 'STOPPED'
  | 'RECOVERED'
  | 'CHANNEL DOWN'
  | 'CHANNEL UP'
  | 'INVALID PLAYLIST'
  | 'PLAYLISTS VALID AGAIN'
  | 'STATE REBUILT';
export type Severity = 'critical' | 'warning' | 'info';

/** What NotifyOnCall publishes: the shape of the SNS Publish parameters it reads. */
export interface Alert {
  readonly subject: string;
  readonly message: string;
  readonly attributes: Record<string, { readonly DataType: 'String'; readonly StringValue: string }>;
}

/** Both encoders' view of one rendition, in the alert's evidence. */
export interface RenditionEvidencePayload {
  readonly rendition: string;
  readonly encoders: Readonly<
    Record<
      string,
      {
        readonly status: string;
        readonly lastSequence: number;
        readonly ageSeconds: number;
        readonly ageTargetDurations: number;
      }
    >
  >;
}

/** The JSON payload at the end of every alert body (after `JSON: `). */
export interface AlertPayload {
  readonly kind: AlertKind;
  readonly severity: Severity;
  readonly channel: string;
  readonly encoder?: string;
  readonly incidentId?: string;
  /** When the incident started (ISO 8601). */
  readonly incidentStart?: string;
  /** On RECOVERED and PLAYLISTS VALID AGAIN: how long the incident lasted. */
  readonly durationSeconds?: number;
  readonly reason?: string;
  readonly at: string;
  readonly actions: readonly string[];
  /** What steering and the index say now, and which encoders are withdrawn. */
  readonly now?: { readonly preferred: string; readonly withdrawn: readonly string[] };
  readonly renditions?: readonly RenditionEvidencePayload[];
  readonly runbook: string;
  readonly details?: unknown;
}

/** Kinds with a runbook entry: every alert kind, and the CloudWatch alarms' WORKFLOW FAILING. */
export type RunbookKind = AlertKind | 'WORKFLOW FAILING';

/**
 * The README anchor of each kind's runbook entry (headings `### Runbook: <KIND>` under
 * "For on-call"). Alerts and alarm descriptions link these.
 */
export function runbookAnchor(kind: RunbookKind): string {
  return `README.md#runbook-${kind.toLowerCase().replace(/ /g, '-')}`;
}

const SEVERITY: Readonly<Record<AlertKind, Severity>> = {
  STALLED: 'critical',
  STOPPED: 'critical',
  'CHANNEL DOWN': 'critical',
  'INVALID PLAYLIST': 'warning',
  RECOVERED: 'info',
  'CHANNEL UP': 'info',
  'PLAYLISTS VALID AGAIN': 'info',
  'STATE REBUILT': 'warning',
};

/** What to check next, per kind: the first steps of the runbook, repeated in the alert. */
const NEXT_STEPS: Readonly<Record<AlertKind, readonly string[]>> = {
  STALLED: [
    'Is the encoder process running, and can it still write to the bucket (credentials, network, disk)? Check its logs around the incident start.',
    'Is its clock or output locking off? A steady segment lag with fresh playlists points at the encoder, not the network.',
    'If the other encoder is healthy, viewers were steered away already (see "What the system did"); nothing to do on the origin. If it is down too, a CHANNEL DOWN alert follows. The encoder comes back by itself once it writes fresh playlists again (hysteresis applies).',
  ],
  STOPPED: [
    'The encoder wrote EXT-X-ENDLIST while the other is still live: was it stopped on purpose (maintenance) or did it crash and finalise its playlists?',
    'Restart it with epoch-locked numbering; its next fresh playlists end the incident.',
  ],
  RECOVERED: [
    'Nothing urgent. Check the encoder logs for why it stalled, and whether failback (or manual preference) is what you want.',
  ],
  'CHANNEL DOWN': [
    'No encoder is live (both silent, or one stopped with EXT-X-ENDLIST and the other silent): viewers are frozen on the last segments. Check the contribution feed, both encoder hosts, and their write access to the bucket first.',
    'The last good index.m3u8 stays in place; nothing more is withdrawn (an encoder withdrawn before stays withdrawn until it writes fresh playlists). The channel comes back as soon as one encoder writes fresh playlists.',
    'Was the event meant to end? An encoder that ends a stream writes EXT-X-ENDLIST; silence is not an end.',
  ],
  'CHANNEL UP': ['Nothing urgent. Confirm playback on the index URL; check why both encoders went silent.'],
  'INVALID PLAYLIST': [
    'Read the violations below (rule ids are explained in the README, "Validation rules"): an encoder setting or upgrade usually causes them.',
    'Check the playlist yourself: hls-failover validate <file> --previous <last good version>.',
    'If the encoder restarted without epoch-locked numbering, live-media-sequence-decreased follows: fix its numbering.',
  ],
  'PLAYLISTS VALID AGAIN': [
    'Nothing urgent. Check the encoder change that fixed it, or why the rejected playlists stopped being written.',
  ],
  'STATE REBUILT': [
    'Only the workflow writes the state table: find what else wrote this channel’s record (IAM, a manual edit, a bad deploy or migration). Other channels have their own records and were not touched.',
    'Check the channel with hls-failover status: the rebuilt health is what the workflow acts on from now on.',
  ],
};

/** The channel name people read: the single-channel layout has none. */
export function channelLabel(channel: string): string {
  return channel === '' ? '(root)' : channel;
}

const round = (n: number) => Math.round(n * 10) / 10;
const iso = (ms: number) => new Date(ms).toISOString();

/** Both encoders' sequence numbers and ages for every rendition (all, or only `only`). */
function renditionEvidence(
  health: ChannelHealth,
  now: number,
  only?: ReadonlySet<string>,
): RenditionEvidencePayload[] {
  const names = new Set<string>();
  for (const e of Object.values(health.encoders)) for (const r of Object.keys(e.renditions)) names.add(r);
  return [...names]
    .filter((r) => only === undefined || only.has(r))
    .sort()
    .map((rendition) => ({
      rendition,
      encoders: Object.fromEntries(
        Object.entries(health.encoders).flatMap(([encoder, h]) => {
          const r = h.renditions[rendition];
          if (r === undefined) return [];
          const ageSeconds = round(Math.max(0, now - r.lastModified) / 1000);
          return [
            [
              encoder,
              {
                status: r.status,
                lastSequence: r.lastSequence,
                ageSeconds,
                ageTargetDurations: round(ageSeconds / (r.targetDuration || 1)),
              },
            ],
          ];
        }),
      ),
    }));
}

/**
 * Alerts for the transitions of one execution that owns them. Actions (preference change,
 * withdrawal) are reported inside the alert of the incident that caused them. One alert and one
 * recovery per incident: an encoder's stall or recovery that is part of another incident (a
 * CHANNEL DOWN, an INVALID PLAYLIST; `partOf`) raises none of its own.
 */
export function alertsFor(
  channel: string,
  transitions: readonly Transition[],
  state: ChannelHealth,
  now: number,
  options: { readonly splicing?: boolean } = {},
): Alert[] {
  const actions = transitions.flatMap((t): string[] => {
    if (t.kind === 'preferred-changed')
      return [`steering and index order now prefer ${t.to} (was ${t.from}): ${t.reason}`];
    if (t.kind === 'withdrawal-changed') {
      return [
        ...t.withdrawn.map((e) =>
          options.splicing
            ? `replaced ${e}'s media playlists with splices of the healthy encoder's (its viewers keep playing; where the encoders are not output-locked they are deleted instead and answer 404: \`hls-failover audit\` lists which)`
            : `withdrew ${e}'s media playlists (they answer 404; bucket versioning keeps them)`,
        ),
        ...t.restored.map((e) => `${e} is no longer withdrawn`),
      ];
    }
    return [];
  });
  const alerts: Alert[] = [];
  for (const t of transitions) {
    const payload = payloadOf(channel, t, state, now, actions);
    if (payload !== undefined) alerts.push(render(payload, state));
  }
  return alerts;
}

function payloadOf(
  channel: string,
  t: Transition,
  state: ChannelHealth,
  now: number,
  actions: readonly string[],
): AlertPayload | undefined {
  const common = {
    channel,
    at: iso(now),
    actions,
    now: { preferred: state.preferred, withdrawn: state.withdrawn },
    details: t,
  };
  const make = (kind: AlertKind, rest: Partial<AlertPayload>): AlertPayload => ({
    kind,
    severity: SEVERITY[kind],
    runbook: runbookAnchor(kind),
    ...common,
    ...rest,
  });
  switch (t.kind) {
    case 'encoder-stalled':
    case 'encoder-stopped':
    case 'encoder-recovered':
      if (t.partOf !== undefined) return undefined;
      break;
    default:
      break;
  }
  switch (t.kind) {
    case 'encoder-stalled':
    case 'encoder-stopped':
      return make(t.kind === 'encoder-stalled' ? 'STALLED' : 'STOPPED', {
        encoder: t.encoder,
        incidentId: t.incidentId,
        incidentStart: iso(state.encoders[t.encoder]?.since ?? now),
        reason: t.reason,
        renditions: renditionEvidence(state, now, new Set(t.evidence.map((e) => e.rendition))),
      });
    case 'encoder-recovered':
      return make('RECOVERED', {
        encoder: t.encoder,
        incidentId: t.incidentId,
        incidentStart: iso(t.incidentStart),
        durationSeconds: Math.round(t.durationMs / 1000),
        reason: `${t.encoder} is fresh again after ${Math.round(t.durationMs / 1000)} s`,
        renditions: renditionEvidence(state, now),
      });
    case 'channel-down':
      return make('CHANNEL DOWN', {
        incidentId: t.incidentId,
        incidentStart: t.incidentId.replace(/^channel-/, ''),
        reason:
          t.folds.length === 0
            ? t.reason
            : `${t.reason} (takes over ${t.folds.join(', ')}: CHANNEL UP is the one recovery notice)`,
        renditions: renditionEvidence(state, now),
      });
    case 'channel-up':
      return make('CHANNEL UP', {
        ...(t.incidentId === undefined
          ? {}
          : { incidentId: t.incidentId, incidentStart: t.incidentId.replace(/^channel-/, '') }),
        reason: `an encoder is healthy again; steering and the index prefer ${state.preferred}${
          t.stillDown.length === 0
            ? ''
            : `; still down: ${t.stillDown.join(', ')} (withdrawn while another is healthy; it comes back with no further notice)`
        }`,
        renditions: renditionEvidence(state, now),
      });
    default:
      return undefined;
  }
}

/** One INVALID PLAYLIST alert: sent by the execution that opened the encoder's incident. */
export function invalidPlaylistAlert(
  channel: string,
  rejected: {
    readonly encoder: string;
    readonly key: string;
    readonly rest: string;
    readonly cause: string;
    readonly incident: InvalidIncident;
  },
  health: ChannelHealth | undefined,
  now: number,
): Alert {
  const { encoder, incident } = rejected;
  const rules = incident.playlists[rejected.rest]?.rules ?? [];
  return render(
    {
      kind: 'INVALID PLAYLIST',
      severity: SEVERITY['INVALID PLAYLIST'],
      channel,
      encoder,
      incidentId: incident.incidentId,
      incidentStart: iso(incident.since),
      reason: rejected.cause,
      at: iso(now),
      actions: [
        `did not use ${rejected.key}: index.m3u8 and steering.json are unchanged, and the last accepted version stays the reference for the live-update rules`,
        `further invalid playlists from ${encoder} join this incident (no new alert) until every rejected playlist is accepted again`,
        `if ${encoder} writes no valid playlist for 1.5 × its target duration, viewers are steered away and its playlists withdrawn as part of this incident (no STALLED or RECOVERED alert; PLAYLISTS VALID AGAIN closes it)`,
      ],
      ...(health === undefined ? {} : { now: { preferred: health.preferred, withdrawn: health.withdrawn } }),
      ...(health === undefined ? {} : { renditions: renditionEvidence(health, now) }),
      runbook: runbookAnchor('INVALID PLAYLIST'),
      details: { key: rejected.key, rules },
    },
    health,
  );
}

/** One PLAYLISTS VALID AGAIN notice: sent by the execution that closed the encoder's incident. */
export function playlistsValidAgainAlert(
  channel: string,
  encoder: string,
  incident: InvalidIncident,
  health: ChannelHealth | undefined,
  now: number,
): Alert {
  const seconds = Math.round((now - incident.since) / 1000);
  const own = health?.encoders[encoder];
  const stillWithdrawn =
    own?.partOf === incident.incidentId && (own.status === 'stalled' || own.status === 'ended');
  return render(
    {
      kind: 'PLAYLISTS VALID AGAIN',
      severity: SEVERITY['PLAYLISTS VALID AGAIN'],
      channel,
      encoder,
      incidentId: incident.incidentId,
      incidentStart: iso(incident.since),
      durationSeconds: seconds,
      reason: `every playlist of ${encoder} rejected since ${iso(incident.since)} has been accepted again or is no longer written; ${incident.rejected} version${incident.rejected === 1 ? '' : 's'} rejected over ${seconds} s`,
      at: iso(now),
      actions: stillWithdrawn
        ? [
            `${encoder} went without a valid playlist for longer than the stall threshold during this incident and was steered away from; it is restored once it has written fresh playlists for the recovery hysteresis, with no further notice`,
          ]
        : [],
      ...(health === undefined ? {} : { now: { preferred: health.preferred, withdrawn: health.withdrawn } }),
      runbook: runbookAnchor('PLAYLISTS VALID AGAIN'),
      details: { playlists: Object.keys(incident.playlists), rejected: incident.rejected },
    },
    health,
  );
}

/**
 * One STATE REBUILT alert: sent by the execution whose conditional write replaced the channel's
 * corrupt state record (so once, however many executions found it corrupt).
 */
export function stateRebuiltAlert(
  channel: string,
  problem: string,
  health: ChannelHealth | undefined,
  now: number,
): Alert {
  return render(
    {
      kind: 'STATE REBUILT',
      severity: SEVERITY['STATE REBUILT'],
      channel,
      reason: `the channel's state record was corrupt (${problem}); it was rebuilt from the bucket and the accepted playlists`,
      at: iso(now),
      actions: [
        "rebuilt the channel's state: each encoder's master from its folder, health from the accepted playlists and the bucket",
        'index.m3u8 and steering.json are rewritten from it where they differ',
        'open INVALID PLAYLIST incidents were lost: a playlist still invalid opens a new one',
      ],
      ...(health === undefined ? {} : { now: { preferred: health.preferred, withdrawn: health.withdrawn } }),
      runbook: runbookAnchor('STATE REBUILT'),
      details: { problem },
    },
    health,
  );
}

function evidenceLines(p: AlertPayload): string[] {
  const lines: string[] = [];
  const t = p.details as Transition | undefined;
  const stalledEvidence =
    t !== undefined && (t.kind === 'encoder-stalled' || t.kind === 'encoder-stopped') ? t.evidence : [];
  for (const r of p.renditions ?? []) {
    const own = p.encoder === undefined ? undefined : r.encoders[p.encoder];
    const others = Object.entries(r.encoders).filter(([e]) => e !== p.encoder);
    const why = stalledEvidence.find((e) => e.rendition === r.rendition)?.reason;
    const describe = ([e, v]: [
      string,
      { lastSequence: number; ageSeconds: number; ageTargetDurations: number },
    ]) =>
      `${e}: last segment ${v.lastSequence}, updated ${v.ageSeconds} s ago (${v.ageTargetDurations} × target duration)`;
    const parts =
      own === undefined
        ? Object.entries(r.encoders).map(describe)
        : [
            `last segment ${own.lastSequence}, updated ${own.ageSeconds} s ago (${own.ageTargetDurations} × target duration)`,
            ...others.map(describe),
          ];
    lines.push(`  ${r.rendition}: ${parts.join('; ')}${why === undefined ? '' : ` — ${why}`}`);
  }
  return lines;
}

/** SNS's limit on a Subject: printable ASCII, no line breaks, under 100 characters. */
const MAX_SUBJECT_CHARS = 99;

/**
 * A Subject SNS accepts: accents dropped (ü → u), any other character outside printable ASCII
 * as `?`, cut to 99 characters with `...`. The body and the `channel` attribute keep the name.
 */
export function snsSubject(text: string): string {
  const ascii = text
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .replace(/\s+/g, ' ')
    .replace(/[^\x20-\x7e]/g, '?');
  return ascii.length <= MAX_SUBJECT_CHARS ? ascii : `${ascii.slice(0, MAX_SUBJECT_CHARS - 3)}...`;
}

function render(p: AlertPayload, state: ChannelHealth | undefined): Alert {
  const who = p.encoder === undefined ? '' : ` ${p.encoder}`;
  const title = `${channelLabel(p.channel)}:${who} ${p.kind}`;
  const subject = snsSubject(`[hls-failover] ${title}`);
  const lines = [`${title} at ${p.at}`, ''];
  if (p.reason !== undefined) lines.push(`What happened: ${p.reason}`);
  const evidence = evidenceLines(p);
  if (evidence.length > 0) {
    const affected = (p.renditions ?? []).length;
    lines.push('', `Evidence (${affected} rendition${affected === 1 ? '' : 's'}):`, ...evidence);
  }
  if (state !== undefined) {
    lines.push('', 'Encoders now:');
    for (const [encoder, health] of Object.entries(state.encoders)) {
      const sequences = Object.entries(health.renditions)
        .map(([r, h]) => `${r}=${h.lastSequence}`)
        .join(', ');
      lines.push(
        `  ${encoder}: ${health.status} (${health.reason})${sequences ? `; last segments ${sequences}` : ''}`,
      );
    }
  }
  lines.push(
    '',
    'What the system did:',
    ...(p.actions.length > 0
      ? p.actions.map((a) => `  - ${a}`)
      : ['  - nothing (no healthy encoder to move to, or no change needed)']),
  );
  if (p.now !== undefined) {
    lines.push(
      `  Now: steering.json and index.m3u8 list ${p.now.preferred} first; withdrawn: ${p.now.withdrawn.length > 0 ? p.now.withdrawn.join(', ') : 'none'}.`,
    );
  }
  if (p.incidentId !== undefined) {
    lines.push(
      '',
      `Incident: ${p.incidentId}${p.incidentStart === undefined ? '' : `, started ${p.incidentStart}`}${p.durationSeconds === undefined ? '' : `, lasted ${p.durationSeconds} s`}`,
    );
  }
  lines.push(
    '',
    'What to check next:',
    ...NEXT_STEPS[p.kind].map((step, i) => `  ${i + 1}. ${step}`),
    `Runbook: ${p.runbook} (hls-failover README, "For on-call" → "Runbook: ${p.kind}")`,
    '',
    `JSON: ${JSON.stringify(p)}`,
  );
  const attribute = (value: string) => ({ DataType: 'String' as const, StringValue: value });
  return {
    subject,
    message: lines.join('\n'),
    attributes: {
      channel: attribute(channelLabel(p.channel)),
      kind: attribute(p.kind),
      severity: attribute(p.severity),
      ...(p.encoder === undefined ? {} : { encoder: attribute(p.encoder) }),
    },
  };
}

/** The JSON payload of an alert body, or undefined when the body has none. */
export function alertPayloadOf(message: string): AlertPayload | undefined {
  const at = message.lastIndexOf('\nJSON: ');
  if (at < 0) return undefined;
  try {
    return JSON.parse(message.slice(at + '\nJSON: '.length)) as AlertPayload;
  } catch {
    return undefined;
  }
}
