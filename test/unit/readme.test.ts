import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type RunbookKind, runbookAnchor } from '../../functions/alerts';
import { SETTINGS } from '../../functions/config';

const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');

describe('README (the front door stays true)', () => {
  it('documents every setting in the configuration table, with its environment variable', () => {
    for (const [name, spec] of Object.entries(SETTINGS)) {
      expect(readme).toContain(`| \`${name}\` |`);
      if ('env' in spec && spec.env !== undefined) expect(readme).toContain(`\`${spec.env}\``);
    }
  });

  it('gives the two commands of the quick start, and .ci/run runs the same test command', () => {
    expect(readme).toContain('npm ci');
    expect(readme).toContain('npm test');
    expect(readFileSync(join(__dirname, '..', '..', '.ci', 'run'), 'utf8')).toMatch(/^npm test$/m);
  });

  /** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens. */
  const anchors = new Set(
    [...readme.matchAll(/^#{1,6} (.+)$/gm)].map((m) =>
      (m[1] as string)
        .toLowerCase()
        .replace(/[^\p{L}\p{N}\- ]/gu, '')
        .replace(/ /g, '-'),
    ),
  );

  it('has the runbook section every alert links to', () => {
    // A Record over the union: adding an alert kind without listing it here fails to compile.
    const kinds: Record<RunbookKind, true> = {
      STALLED: true,
      STOPPED: true,
      RECOVERED: true,
      'CHANNEL DOWN': true,
      'CHANNEL UP': true,
      'INVALID PLAYLIST': true,
      'PLAYLISTS VALID AGAIN': true,
      'WORKFLOW FAILING': true,
    };
    for (const kind of Object.keys(kinds) as RunbookKind[])
      expect(anchors).toContain(runbookAnchor(kind).replace('README.md#', ''));
  });

  it('links only to sections that exist', () => {
    const links = [...readme.matchAll(/\]\(#([^)]+)\)/g)].map((m) => m[1] as string);
    expect(links.length).toBeGreaterThan(5);
    expect(links.filter((l) => !anchors.has(l))).toEqual([]);
  });
});
