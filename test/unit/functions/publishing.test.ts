/**
 * Published mode (issue 15): the policy that picks what an execution publishes, the setting and
 * its checks, the published folder in the key layout, and the index that lists it.
 */
import { parseSettings } from '../../../functions/config';
import {
  type ChannelHealth,
  ConfigInvalidError,
  initialChannelHealth,
  mergeMasters,
} from '../../../functions/hls';
import { channelNameProblem, workflowObjectOf } from '../../../functions/keys';
import { publishTargets } from '../../../functions/publishing';
import { fixture } from '../../support/playlists';

/** A healthy pair whose encoders list 720p.m3u8 and 360p.m3u8, `preferred` first. */
function health(preferred = 'primary'): ChannelHealth {
  const base = initialChannelHealth({}, 0);
  const rendition = {
    status: 'healthy' as const,
    reason: 'fresh',
    mediaSequence: 1,
    lastSequence: 4,
    targetDuration: 2,
    endlist: false,
    lastModified: 0,
  };
  const encoder = {
    status: 'healthy' as const,
    since: 0,
    reason: 'fresh',
    freshStreak: 0,
    renditions: { '720p.m3u8': rendition, '360p.m3u8': rendition },
  };
  return { ...base, preferred, encoders: { primary: encoder, failover: encoder } };
}

describe('publishTargets', () => {
  it("publishes the event's rendition when it comes from the encoder viewers are served from", () => {
    expect(
      publishTargets(health(), { encoder: 'primary', rendition: '720p.m3u8', endlist: false }, []),
    ).toEqual([{ encoder: 'primary', rendition: '720p.m3u8' }]);
  });

  it("the other encoder's event for the same segment publishes nothing", () => {
    expect(
      publishTargets(health(), { encoder: 'failover', rendition: '720p.m3u8', endlist: false }, []),
    ).toEqual([]);
  });

  it("an event that ends its playlist looks at the served encoder's rendition (both may have ended)", () => {
    expect(
      publishTargets(health(), { encoder: 'failover', rendition: '720p.m3u8', endlist: true }, []),
    ).toEqual([{ encoder: 'primary', rendition: '720p.m3u8' }]);
  });

  it('a switch (the preference moved) publishes every rendition of the newly preferred encoder', () => {
    const moved = [
      { kind: 'preferred-changed' as const, from: 'primary', to: 'failover', reason: 'primary is stalled' },
    ];
    expect(publishTargets(health('failover'), undefined, moved)).toEqual([
      { encoder: 'failover', rendition: '360p.m3u8' },
      { encoder: 'failover', rendition: '720p.m3u8' },
    ]);
  });

  it("the watchdog's look publishes every rendition (what a dead execution left unpublished)", () => {
    expect(publishTargets(health(), undefined, [], true)).toHaveLength(2);
  });
});

describe('the publishing setting', () => {
  it('is direct by default: steering, withdrawal and splicing on', () => {
    expect(parseSettings({})).toMatchObject({
      publishing: 'direct',
      steering: true,
      withdrawal: true,
      splicing: true,
    });
  });

  it('published turns steering, withdrawal and splicing off: viewers read only the published playlists', () => {
    expect(parseSettings({ publishing: 'published' })).toMatchObject({
      publishing: 'published',
      publishedFolder: 'live',
      steering: false,
      withdrawal: false,
      splicing: false,
    });
  });

  it('refuses, saying what to change, steering asked for in published mode, a published folder named like an encoder, and an unknown mode', () => {
    expect(() => parseSettings({ publishing: 'published', steering: true })).toThrow(
      /"steering" is not used with "publishing" = "published".*remove it or set it to false/,
    );
    expect(() => parseSettings({ publishing: 'published', publishedFolder: 'primary' })).toThrow(
      /"publishedFolder" must not be an encoder folder name/,
    );
    expect(() => parseSettings({ publishing: 'mirrored' })).toThrow(ConfigInvalidError);
    expect(() => parseSettings({ publishedFolder: '../x' })).toThrow(/one folder name/);
    expect(() => parseSettings({ publishing: 'published', publishedFolder: '_hls-failover' })).toThrow(
      /must not be the folder of "statePrefix"/,
    );
  });
});

describe('the published folder in the key layout', () => {
  const encoders = ['primary', 'failover'];
  it("is the workflow's: an encoder may not write there (published mode only)", () => {
    expect(workflowObjectOf('ch1/live/720p.m3u8', encoders, '_hls-failover/', 'live')).toBe(
      'a published playlist of channel "ch1"',
    );
    expect(workflowObjectOf('live/720p/index.m3u8', encoders, '_hls-failover/', 'live')).toBe(
      'a published playlist of the single channel',
    );
    expect(workflowObjectOf('ch1/live/720p.m3u8', encoders, '_hls-failover/')).toBeUndefined();
    // Inside an encoder folder it is the encoder's own object.
    expect(workflowObjectOf('ch1/primary/live/a.m3u8', encoders, '_hls-failover/', 'live')).toBeUndefined();
  });

  it('no channel may be named like it', () => {
    expect(channelNameProblem('sport/live', [...encoders, 'live'])).toMatch(/named like the folder "live"/);
  });
});

describe('the published index', () => {
  it("lists one encoder's ladder under the published folder, without steering or pathways", () => {
    const master = fixture('master-simple.m3u8');
    const { text } = mergeMasters(master, undefined, {
      steering: false,
      folders: { primary: 'live/' },
    });
    expect(text).not.toMatch(/CONTENT-STEERING|PATHWAY-ID|primary\//);
    expect(text).toMatch(/^live\/\S+\.m3u8$/m);
  });

  it('leaves I-frame playlists out when asked (byte ranges are not published: listed, they would answer 404)', () => {
    const master =
      '#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=800000\n720p.m3u8\n#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=100000,URI="iframe.m3u8"\n';
    const options = { steering: false, folders: { primary: 'live/' } };
    expect(mergeMasters(master, undefined, options).text).toContain('I-FRAME-STREAM-INF');
    expect(mergeMasters(master, undefined, { ...options, iframes: false }).text).not.toContain('I-FRAME');
  });
});
