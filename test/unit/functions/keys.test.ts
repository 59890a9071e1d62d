/**
 * The key layout against the EventBridge rule: the workflow's own writes (`<channel>/index.m3u8`,
 * `<channel>/steering.json`) never start the workflow, for every channel that can exist.
 */
import fc from 'fast-check';
import {
  channelNameProblem,
  indexKey,
  parseEncoderKey,
  steeringKey,
  workflowObjectOf,
} from '../../../functions/keys';
import { playlistEventPattern } from '../../../functions/workflow';
import { matchesEventPattern } from '../../../local/event-pattern';

const ENCODERS = ['primary', 'failover'];
const pattern = playlistEventPattern('live', ENCODERS);

/** The "Object Created" event S3 sends to EventBridge for a new object. */
const created = (key: string, reason = 'PutObject') => ({
  source: 'aws.s3',
  'detail-type': 'Object Created',
  detail: { bucket: { name: 'live' }, object: { key }, reason },
});

/** Keys made of path segments that include the encoder folder names. */
const keys = fc
  .array(
    fc.constantFrom(
      'primary',
      'failover',
      'news',
      'sport',
      'hd',
      'index.m3u8',
      '720p.m3u8',
      'x.primary',
      '..',
    ),
    {
      minLength: 1,
      maxLength: 5,
    },
  )
  .map((parts) => parts.join('/'));

describe('channel names and the playlist rule', () => {
  it("the rule ignores copies: the workflow's own writes into an encoder folder (CopyObject) start no execution", () => {
    expect(matchesEventPattern(pattern, created('news/primary/720p.m3u8', 'CopyObject'))).toBe(false);
    expect(matchesEventPattern(pattern, created('news/primary/720p.m3u8', 'CompleteMultipartUpload'))).toBe(
      true,
    );
  });

  it('the rule matches an encoder playlist in both layouts', () => {
    expect(matchesEventPattern(pattern, created('news/primary/720p.m3u8'))).toBe(true);
    expect(matchesEventPattern(pattern, created('failover/index.m3u8'))).toBe(true);
  });

  it('a channel named like an encoder folder would make the workflow start itself, so it is refused', () => {
    for (const channel of ['primary', 'news/failover', 'primary/news']) {
      expect(matchesEventPattern(pattern, created(indexKey(channel)))).toBe(true);
      expect(channelNameProblem(channel, ENCODERS)).toMatch(/named like the folder/);
    }
  });

  it('a key with a "." or ".." segment anywhere names no channel, and no such channel name is valid', () => {
    for (const key of ['../../x/primary/720p.m3u8', 'a/./primary/720p.m3u8', 'news/primary/../720p.m3u8'])
      expect(parseEncoderKey(key, ENCODERS)).toBeUndefined();
    expect(channelNameProblem('../../x', ENCODERS)).toMatch(/"\." or "\.\." path segment/);
  });

  it('every channel an encoder key yields is a valid channel name', () => {
    fc.assert(
      fc.property(keys, (key) => {
        const parsed = parseEncoderKey(key, ENCODERS);
        return parsed === undefined || channelNameProblem(parsed.channel, ENCODERS) === undefined;
      }),
    );
  });

  it("no valid channel's index.m3u8 or steering.json matches the rule", () => {
    fc.assert(
      fc.property(
        keys.filter((channel) => channelNameProblem(channel, ENCODERS) === undefined),
        (channel) =>
          !matchesEventPattern(pattern, created(indexKey(channel))) &&
          !matchesEventPattern(pattern, created(steeringKey(channel))),
      ),
    );
    expect(matchesEventPattern(pattern, created(indexKey('')))).toBe(false);
  });
});

describe('objects the workflow owns (issue 16 §2: ingest may not write them)', () => {
  const RESERVED = '_hls-failover/';

  it.each([
    ['ch1/index.m3u8', 'the index of channel "ch1"'],
    ['ch1/steering.json', 'the steering manifest of channel "ch1"'],
    ['news/sport/index.m3u8', 'the index of channel "news/sport"'],
    ['index.m3u8', 'the index of the single channel'],
    ['steering.json', 'the steering manifest of the single channel'],
    ['_hls-failover/anything', 'under the prefix "_hls-failover/" reserved for the workflow'],
  ])('%s is %s', (key, what) => {
    expect(workflowObjectOf(key, ENCODERS, RESERVED)).toBe(what);
  });

  it.each([
    'ch1/primary/index.m3u8',
    'ch1/failover/720p/index.m3u8',
    'ch1/primary/steering.json',
    'primary/index.m3u8',
    'ch1/index.m3u8.bak',
    'ch1/INDEX.m3u8',
    'ch1/primary/_hls-failover/x',
  ])('%s (an encoder object or an unrelated key) is not', (key) => {
    expect(workflowObjectOf(key, ENCODERS, RESERVED)).toBeUndefined();
  });

  it("every valid channel's index and steering manifest is the workflow's, and no encoder key is", () => {
    fc.assert(
      fc.property(keys, (key) => {
        const valid = channelNameProblem(key, ENCODERS) === undefined;
        const owned = (k: string) => workflowObjectOf(k, ENCODERS, RESERVED) !== undefined;
        return (
          (!valid || (owned(indexKey(key)) && owned(steeringKey(key)))) &&
          (parseEncoderKey(key, ENCODERS) === undefined || !owned(key))
        );
      }),
    );
  });
});
