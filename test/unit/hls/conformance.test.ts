/**
 * Conformance over the public HLS corpus: 298 playlists from ten public test suites, copied into
 * test/fixtures/corpus from shared/corpus/hls (attribution per file in its SOURCES.md).
 *
 * Where the source states a verdict (`expected: valid | invalid`, 148 files), ours agrees, or the
 * file is listed in SOURCE_WRONG with the RFC section that makes the source wrong. Files whose source states no verdict keep the
 * verdict recorded in UNSTATED_REJECTED, so any change of verdict is made on purpose.
 *
 * Absolute and root-relative URIs are a hosting policy, not invalid HLS: a playlist whose only
 * findings are of the URI policy (severity `policy`) counts as valid HLS ("policy").
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  classifyPlaylist,
  mergeMasters,
  PlaylistInvalidError,
  parseWithHlsParser,
  publishPlaylist,
  type RuleId,
  snapshotMediaPlaylist,
  validateMasterPlaylist,
  validateMediaPlaylist,
} from '../../../functions/hls';
import { expectAcceptedEverywhere } from '../../support/accept';

interface CorpusEntry {
  readonly file: string;
  readonly kind: 'master' | 'media' | 'unknown';
  readonly expected: 'valid' | 'invalid' | 'unknown';
  readonly note: string;
}

const root = join(__dirname, '..', '..', 'fixtures', 'corpus');
const corpus = JSON.parse(readFileSync(join(root, 'corpus.json'), 'utf8')) as CorpusEntry[];
const read = (file: string) => readFileSync(join(root, file), 'utf8');

/** Our verdict on a file: valid HLS, valid HLS refused only by the URI policy, or the first rule broken. */
type Verdict = 'valid' | 'policy' | RuleId;

/** Stated verdicts we do not follow, each with the RFC section that makes the source wrong. None today. */
const SOURCE_WRONG: Record<string, string> = {};

/** Files whose source states no verdict and that we reject: the first rule each breaks, or `policy`. */
const UNSTATED_REJECTED: Record<string, Verdict> = {
  // Valid HLS outside the hosting policy: root-relative URIs, or '..' above the encoder folder.
  'videojs-m3u8-parser/absoluteUris.m3u8': 'policy',
  'videojs-m3u8-parser/domainUris.m3u8': 'policy',
  'videojs-m3u8-parser/event.m3u8': 'policy',
  'videojs-m3u8-parser/whiteSpace.m3u8': 'policy',
  'hlsjs-extracted/m3u8-parser-L1689.m3u8': 'policy',
  'globocom-m3u8-extracted/LOW_LATENCY_PART_PLAYLIST.m3u8': 'policy',
  'videojs-m3u8-parser/byteRange.m3u8': 'parser-strict',
  'videojs-m3u8-parser/dateTime.m3u8': 'extinf-comma-missing',
  'videojs-m3u8-parser/extinf.m3u8': 'extinf-comma-missing',
  'videojs-m3u8-parser/headerOnly.m3u8': 'targetduration-missing',
  'videojs-m3u8-parser/liveStart30sBefore.m3u8': 'extinf-exceeds-targetduration',
  'videojs-m3u8-parser/llhls-byte-range.m3u8': 'parser-strict',
  'videojs-m3u8-parser/llhls-delta-byte-range.m3u8': 'parser-strict',
  'videojs-m3u8-parser/llhls.m3u8': 'parser-strict',
  // RECENTLY-REMOVED-DATERANGES is a quoted-string; here it is unquoted and holds a TAB (§4.2).
  'videojs-m3u8-parser/llhlsDelta.m3u8': 'attribute-list-invalid',
  'videojs-m3u8-parser/manifestExtXEndlistEarly.m3u8': 'content-after-endlist',
  'videojs-m3u8-parser/master.m3u8': 'extm3u-first',
  'videojs-m3u8-parser/mediaSequence.m3u8': 'parser-strict',
  'videojs-m3u8-parser/missingMediaSequence.m3u8': 'parser-strict',
  'videojs-m3u8-parser/playlistMediaSequenceHigher.m3u8': 'parser-strict',
  'videojs-m3u8-parser/start.m3u8': 'extm3u-first',
  'kuu-hls-parser/fixtures/8.10-EXT-X-DATERANGE-carrying-SCTE-35-tags.m3u8': 'extm3u-first',
  'kuu-hls-parser/fixtures/8.6-Master-Playlist-with-Alternative-audio.m3u8': 'extm3u-first',
  'kuu-hls-parser/fixtures/8.7-Master-Playlist-with-Alternative-video.m3u8': 'extm3u-first',
  'kuu-hls-parser/fixtures/8.8-Session-Data-in-a-Master-Playlist.m3u8': 'extm3u-first',
  'kuu-hls-parser/fixtures/8.9-CHARACTERISTICS-attribute-containing-multiple-characteristics.m3u8':
    'extm3u-first',
  'kuu-hls-parser/fixtures/SCTE-35_07.m3u8': 'extm3u-first',
  'grafov-m3u8/master-with-hlsv7.m3u8': 'extm3u-first',
  'grafov-m3u8/master-with-i-frame-stream-inf.m3u8': 'group-not-found',
  'grafov-m3u8/media-playlist-with-cue-out-in-without-oatcls.m3u8': 'extinf-without-uri',
  'rutgersc-m3u8-rs/master-not-ending-in-newline.m3u8': 'uri-orphan',
  'rutgersc-m3u8-rs/media-not-ending-in-newline.m3u8': 'parser-strict',
  'iheartradio-open-m3u8/twoMediaPlaylists.m3u8': 'extinf-comma-missing',
  'iheartradio-open-m3u8/withDiscontinuity.m3u8': 'extinf-comma-missing',
  'carlanton-m3u8-parser/media/iframe.m3u8': 'extinf-comma-missing',
  'carlanton-m3u8-parser/media/ll-hls-byteranges.m3u8': 'parser-strict',
  'carlanton-m3u8-parser/media/ll-hls.m3u8': 'parser-strict',
  'carlanton-m3u8-parser/media/mp4-iframe.m3u8': 'extinf-comma-missing',
  'carlanton-m3u8-parser/media/mp4.m3u8': 'extinf-comma-missing',
  'carlanton-m3u8-parser/media/variant.m3u8': 'extinf-comma-missing',
  'carlanton-m3u8-parser/multivariant/multivariant.m3u8': 'extm3u-first',
  'globocom-go-m3u8/media/media.m3u8': 'parser-strict',
  'globocom-go-m3u8/multivariant/withAudioGroups.m3u8': 'parser-strict',
  'globocom-go-m3u8/multivariant/withClosedCaptionGroups.m3u8': 'parser-strict',
  'eyevinn-hls-vodtolive/hls_noaudioonly/master.m3u8': 'uri-orphan',
  'eyevinn-hls-vodtolive/hls_cmaf_interstitial_1/test-video=2500000.m3u8': 'extinf-exceeds-targetduration',
  'hlsjs-extracted/content-steering-controller-L250.m3u8': 'group-not-found',
  'hlsjs-extracted/m3u8-parser-L2092.m3u8': 'parser-strict',
  'hlsjs-extracted/m3u8-parser-L2607.m3u8': 'parser-strict',
  'hlsjs-extracted/m3u8-parser-L2788.m3u8': 'parser-strict',
  'globocom-m3u8-extracted/VARIANT_PLAYLIST_WITH_VIDEO_CC_SUBS_AND_AUDIO.m3u8': 'group-not-found',
  'globocom-m3u8-extracted/LIVE_IMAGE_PLAYLIST.m3u8': 'parser-strict',
  'globocom-m3u8-extracted/DELTA_UPDATE_SKIP_DATERANGES_PLAYLIST.m3u8': 'parser-strict',
};

const hostsIn = (text: string) => [...text.matchAll(/https?:\/\/([^/:"\s]+)/g)].map((m) => m[1] as string);

function verdictOf(text: string, kind: CorpusEntry['kind']): Verdict {
  // Absolute URIs to the hosts the file names pass the URI policy; root-relative ones never do.
  const policy = { allowedHosts: hostsIn(text) };
  const result =
    kind === 'master' ? validateMasterPlaylist(text, policy) : validateMediaPlaylist(text, undefined, policy);
  const first = result.errors[0];
  if (first !== undefined) return first.rule;
  return result.policy.length === 0 ? 'valid' : 'policy';
}

const isValidHls = (v: Verdict) => v === 'valid' || v === 'policy';
const stated = corpus.filter((e) => e.expected !== 'unknown');
const unstated = corpus.filter((e) => e.expected === 'unknown');

describe('conformance over the public HLS corpus (ten public test suites)', () => {
  it('holds the whole corpus: 298 files, 148 with a verdict stated by their source', () => {
    expect(corpus).toHaveLength(298);
    expect(stated).toHaveLength(148);
    for (const file of Object.keys(SOURCE_WRONG)) expect(stated.map((e) => e.file)).toContain(file);
    for (const file of Object.keys(UNSTATED_REJECTED)) expect(unstated.map((e) => e.file)).toContain(file);
  });

  it.each(stated.map((e) => [e.file, e.expected, e] as const))(
    '%s: the source says %s, and so do we (or the list says why not)',
    (_name, expected, entry) => {
      const text = read(entry.file);
      expect(classifyPlaylist(text)).toBe(entry.kind);
      const valid = isValidHls(verdictOf(text, entry.kind));
      const agrees = SOURCE_WRONG[entry.file] === undefined;
      expect(valid).toBe(agrees ? expected === 'valid' : expected !== 'valid');
    },
  );

  it.each(unstated.map((e) => [e.file, e] as const))(
    '%s: no stated verdict; ours is the recorded one',
    (_name, entry) => {
      const text = read(entry.file);
      expect(classifyPlaylist(text)).toBe(entry.kind);
      expect(verdictOf(text, entry.kind)).toBe(UNSTATED_REJECTED[entry.file] ?? 'valid');
    },
  );

  it('agrees with all 148 stated verdicts (142 before the issue-12 rules)', () => {
    const tally = { valid: [0, 0], invalid: [0, 0] };
    for (const e of stated) {
      const counts = tally[e.expected as 'valid' | 'invalid'];
      counts[1] = (counts[1] ?? 0) + 1;
      if (isValidHls(verdictOf(read(e.file), e.kind)) === (e.expected === 'valid'))
        counts[0] = (counts[0] ?? 0) + 1;
    }
    expect(tally).toEqual({ valid: [36, 36], invalid: [112, 112] });
  });

  // Masters that are valid HLS and list variants: hls.js refuses an index with no variant to play
  // (the RFC sets no minimum, and some fixtures hold only session tags).
  const masters = corpus.filter((e) => {
    if (e.kind !== 'master') return false;
    const text = read(e.file);
    return text.includes('#EXT-X-STREAM-INF:') && isValidHls(verdictOf(text, e.kind));
  });
  it('merges every one of the 48 valid masters with variants', () => {
    expect(masters.map((e) => e.file)).toHaveLength(48);
  });

  it.each(masters.map((e) => [e.file, e] as const))(
    '%s: a valid master merges into an index that we, hls-parser strict and hls.js accept',
    async (_name, entry) => {
      const text = read(entry.file);
      const allowedHosts = hostsIn(text);
      if (verdictOf(text, 'master') === 'policy') {
        // Root-relative URIs: the default hosting policy refuses them, with a typed error.
        expect(() => mergeMasters(text, text, { allowedHosts })).toThrow(PlaylistInvalidError);
        return;
      }
      const { text: merged } = mergeMasters(text, text, { allowedHosts });
      // EXT-X-DEFINE:QUERYPARAM takes its value from the index URL (rfc8216bis §4.4.2.3): give it one.
      const query = [...merged.matchAll(/QUERYPARAM="([^"]+)"/g)].map((m) => `${m[1]}=x`).join('&');
      const parsed = await expectAcceptedEverywhere(merged, allowedHosts, query);
      expect(parsed.levels.length).toBeGreaterThan(0);
    },
  );

  // Published mode (issue 15): each valid media playlist, as an encoder's accepted version.
  const medias = corpus.filter((e) => e.kind === 'media' && verdictOf(read(e.file), 'media') === 'valid');
  it.each(medias.map((e) => [e.file] as const))(
    '%s: a valid media playlist publishes into one that we and hls-parser strict accept, or is refused saying why',
    (file) => {
      const text = read(file);
      const snapshot = snapshotMediaPlaylist(text);
      if (snapshot === undefined) throw new Error(`${file}: no snapshot`);
      const r = publishPlaylist({
        source: { encoder: 'primary', text, snapshot },
        rest: '720p/index.m3u8',
        ended: true,
      });
      if (r.kind === 'refused') return expect(r.reason).toMatch(/delta update|byte ranges|variables/);
      expect(r.kind).toBe('publish');
      if (r.kind !== 'publish') return;
      expect(validateMediaPlaylist(r.text).errors).toEqual([]);
      expect(parseWithHlsParser(r.text, true)).toMatchObject({ success: true });
      expect(snapshotMediaPlaylist(r.text)?.segments.length).toBe(snapshot.segments.length);
    },
  );
});
