import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type RunbookKind, runbookAnchor } from '../../functions/alerts';
import { SETTINGS } from '../../functions/config';
import { readMarkdown } from '../support/markdown';

const ROOT = join(__dirname, '..', '..');
const README = join(ROOT, 'README.md');
const readme = readFileSync(README, 'utf8');

describe('README (the front door stays true)', () => {
  it('documents every setting in the configuration table, with its kind, default and environment variable', () => {
    for (const [name, spec] of Object.entries(SETTINGS)) {
      expect(readme).toContain(`| \`${name}\` |`);
      if ('env' in spec && spec.env !== undefined) expect(readme).toContain(`\`${spec.env}\``);
      const shown = Array.isArray(spec.default) ? spec.default.join(',') : spec.default;
      if (shown !== undefined && shown !== '')
        expect(readme).toContain(`| \`${name}\` | ${spec.kind} | \`${String(shown)}\` |`);
    }
  });

  it('gives the two commands of the quick start, and .ci/run runs the same test command', () => {
    expect(readme).toContain('npm ci');
    expect(readme).toContain('npm test');
    expect(readFileSync(join(ROOT, '.ci', 'run'), 'utf8')).toMatch(/^npm test$/m);
  });

  const { anchors } = readMarkdown(README);

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
      'STATE REBUILT': true,
      'WORKFLOW FAILING': true,
    };
    for (const kind of Object.keys(kinds) as RunbookKind[])
      expect(anchors).toContain(runbookAnchor(kind).replace('README.md#', ''));
  });

  it('lists every stack output in the outputs table', () => {
    const outputs = [
      ...readFileSync(join(ROOT, 'infra', 'stack.ts'), 'utf8').matchAll(/new CfnOutput\(this, '(\w+)'/g),
    ].map((m) => m[1] as string);
    expect(outputs.length).toBeGreaterThan(5);
    const table = readme.slice(readme.indexOf('### Stack outputs'));
    expect(outputs.filter((o) => !table.includes(`| \`${o}\` |`))).toEqual([]);
  });
});
