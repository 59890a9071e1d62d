/**
 * The bucket's key layout (docs/design.md, "Storage layout"): `<channel>/<encoder>/<rest>` for what the
 * encoders write, `<channel>/index.m3u8` and `<channel>/steering.json` for what viewers load; and
 * the keys of the workflow's own records, which live outside the bucket. Pure: no SDK.
 */

export interface EncoderKey {
  /** Everything before the encoder folder, without the trailing '/'; '' for the single-channel layout. */
  readonly channel: string;
  readonly encoder: string;
  /** The path inside the encoder folder, e.g. `720p/index.m3u8`. */
  readonly rest: string;
}

const isDotSegment = (part: string) => part === '.' || part === '..';

/**
 * Splits an object key at the first path segment that is an encoder folder name; undefined when
 * the key is not under an encoder folder or has nothing after it.
 */
export function parseEncoderKey(key: string, encoders: readonly string[]): EncoderKey | undefined {
  const parts = key.split('/');
  const at = parts.findIndex((p) => encoders.includes(p));
  if (at < 0 || at === parts.length - 1) return undefined;
  const rest = parts.slice(at + 1).join('/');
  // Dot segments anywhere: a channel "../../x" would write its index where a file store resolves it.
  if (rest === '' || parts.some(isDotSegment)) return undefined;
  return { channel: parts.slice(0, at).join('/'), encoder: parts[at] as string, rest };
}

/**
 * Why `channel` cannot be a channel, or undefined when it can. A channel never has a path segment
 * named like an encoder folder: its `<channel>/index.m3u8` would then lie under that folder, read
 * as the encoder's playlist, and start the workflow on its own write. {@link parseEncoderKey} never
 * yields such a channel (the channel ends before the first encoder folder); configured channel
 * names are checked with this.
 */
export function channelNameProblem(channel: string, encoders: readonly string[]): string | undefined {
  if (channel.split('/').some(isDotSegment))
    return 'has a "." or ".." path segment (a file-backed store would resolve it to another folder)';
  const folder = channel.split('/').find((part) => encoders.includes(part));
  return folder === undefined
    ? undefined
    : `has a path segment named like the folder "${folder}" (<channel>/${folder}/… is an encoder's folder, or the published playlists')`;
}

/**
 * The object key an event names. S3 event keys can arrive URL-encoded (`+` for space, `%xx`):
 * returns the key as given first and, when it differs, its decoded form, for the caller to try
 * in that order.
 */
export function keyCandidates(eventKey: string): string[] {
  let decoded: string;
  try {
    decoded = decodeURIComponent(eventKey.replace(/\+/g, ' '));
  } catch {
    return [eventKey];
  }
  return decoded === eventKey ? [eventKey] : [eventKey, decoded];
}

export function channelPrefix(channel: string): string {
  return channel === '' ? '' : `${channel}/`;
}

export function encoderPrefix(channel: string, encoder: string): string {
  return `${channelPrefix(channel)}${encoder}/`;
}

export function indexKey(channel: string): string {
  return `${channelPrefix(channel)}index.m3u8`;
}

export function steeringKey(channel: string): string {
  return `${channelPrefix(channel)}steering.json`;
}

/** Published mode: the folder of a channel's published media playlists (`<channel>/live/`). */
export function publishedPrefix(channel: string, folder: string): string {
  return `${channelPrefix(channel)}${folder}/`;
}

/**
 * What `key` is when it is an object the workflow writes and ingest must not (issue 16 §2): a
 * channel's index or steering manifest, anything in its published folder (published mode), or
 * anything under `reservedPrefix` (the folder viewers are denied); undefined for any other key,
 * such as everything inside an encoder folder.
 *
 * @example workflowObjectOf('ch1/index.m3u8', ['primary', 'failover'], '_hls-failover/')
 *   // 'the index of channel "ch1"'
 */
export function workflowObjectOf(
  key: string,
  encoders: readonly string[],
  reservedPrefix: string,
  publishedFolder?: string,
): string | undefined {
  if (key.startsWith(reservedPrefix)) return `under the prefix "${reservedPrefix}" reserved for the workflow`;
  const slash = key.lastIndexOf('/');
  const channel = slash < 0 ? '' : key.slice(0, slash);
  // Inside an encoder folder: the encoder's own object (its master may well be index.m3u8).
  const parts = channel.split('/');
  if (parts.some((part) => encoders.includes(part))) return undefined;
  // Published mode: the published playlists, in the published folder of a channel.
  const at = publishedFolder === undefined ? -1 : parts.indexOf(publishedFolder);
  if (at >= 0) {
    const owner = parts.slice(0, at).join('/');
    return `a published playlist of ${owner === '' ? 'the single channel' : `channel "${owner}"`}`;
  }
  const name = channel === '' ? 'the single channel' : `channel "${channel}"`;
  if (key === indexKey(channel)) return `the index of ${name}`;
  if (key === steeringKey(channel)) return `the steering manifest of ${name}`;
  return undefined;
}

/** One path segment per channel (channels may hold '/'); '~' stands for the single-channel layout. */
function channelId(channel: string): string {
  return channel === '' ? '~' : encodeURIComponent(channel);
}

export function channelFromId(id: string): string {
  return id === '~' ? '' : decodeURIComponent(id);
}

/**
 * Keys of the workflow's records (functions/record-store.ts, a DynamoDB table on AWS), never in the
 * bucket. A key is a group (the table's partition key) and a name inside it (the sort key):
 * `channel/<channel id>` / `state` for a channel's state, `accepted/<channel id>` /
 * `<encoder>/<rest>` for the last accepted version of one encoder playlist, so one query reads every
 * accepted playlist of a channel. The group's leading segment names the kind of record, so IAM can
 * limit a function to its kind (`dynamodb:LeadingKeys`).
 */
export const STATE_RECORDS = 'channel/';
export const ACCEPTED_RECORDS = 'accepted/';

export interface RecordKey {
  /** The partition: one kind of record of one channel. */
  readonly group: string;
  /** The record inside its group. */
  readonly name: string;
}

/** The name of a channel's state record inside its group. */
const STATE_NAME = 'state';

export function stateKey(channel: string): RecordKey {
  return { group: `${STATE_RECORDS}${channelId(channel)}`, name: STATE_NAME };
}

/** The group holding the last accepted version of each of a channel's encoder playlists. */
export function acceptedGroup(channel: string): string {
  return `${ACCEPTED_RECORDS}${channelId(channel)}`;
}

/** Where the last accepted version of one encoder playlist is summarised (for the live-update rules). */
export function acceptedKey(channel: string, encoder: string, rest: string): RecordKey {
  return { group: acceptedGroup(channel), name: `${encoder}/${rest}` };
}

/** The encoder and the path inside its folder of an accepted record's name. */
export function parseAcceptedName(name: string): { encoder: string; rest: string } | undefined {
  const at = name.indexOf('/');
  return at <= 0 || at === name.length - 1
    ? undefined
    : { encoder: name.slice(0, at), rest: name.slice(at + 1) };
}

/** The channel of a record group, or undefined when the group is not a channel's state. */
export function channelOfStateGroup(group: string): string | undefined {
  if (!group.startsWith(STATE_RECORDS)) return undefined;
  const id = group.slice(STATE_RECORDS.length);
  return id === '' || id.includes('/') ? undefined : channelFromId(id);
}
