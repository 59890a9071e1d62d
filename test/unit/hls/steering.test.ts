import { buildSteeringManifest, ConfigInvalidError, stringifySteeringManifest } from '../../../functions/hls';

describe('buildSteeringManifest (HLS content steering manifest)', () => {
  it('builds VERSION, TTL and PATHWAY-PRIORITY, with RELOAD-URI when given', () => {
    expect(buildSteeringManifest(['failover', 'primary'], 2)).toEqual({
      VERSION: 1,
      TTL: 2,
      'PATHWAY-PRIORITY': ['failover', 'primary'],
    });
    expect(
      stringifySteeringManifest(buildSteeringManifest(['primary', 'failover'], 4, 'steering.json')),
    ).toBe('{"VERSION":1,"TTL":4,"RELOAD-URI":"steering.json","PATHWAY-PRIORITY":["primary","failover"]}\n');
  });

  it('rejects every problem at once: empty or duplicate priority, bad pathway ids, bad TTL', () => {
    try {
      buildSteeringManifest(['a b', 'a b'], 0.5, 'x y');
      throw new Error('expected a ConfigInvalidError');
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigInvalidError);
      expect((e as ConfigInvalidError).problems).toHaveLength(5);
    }
    expect(() => buildSteeringManifest([], 2)).toThrow(/at least one pathway/);
  });
});
