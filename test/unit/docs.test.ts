import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { readMarkdown } from '../support/markdown';

const ROOT = join(__dirname, '..', '..');

/** README.md and every docs/*.md, relative to the repository root. */
const DOCUMENTS = [
  'README.md',
  ...readdirSync(join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

/** A link with a scheme (https:, mailto:) leaves the repository. */
const EXTERNAL = /^[a-z][a-z0-9+.-]*:/i;

/** Every link into the repository that points nowhere, as `<file>:<line> <target>: <why>`. */
function brokenLinks(): string[] {
  const problems: string[] = [];
  for (const document of DOCUMENTS) {
    const { links, anchors } = readMarkdown(join(ROOT, document));
    for (const { href, line } of links) {
      if (EXTERNAL.test(href)) continue;
      const [path = '', anchor] = href.split('#', 2);
      const target = path === '' ? document : relative(ROOT, resolve(ROOT, dirname(document), path));
      const where = `${document}:${line} ${href}`;
      if (!existsSync(join(ROOT, target))) {
        problems.push(`${where}: no file ${target}`);
        continue;
      }
      if (anchor === undefined || !target.endsWith('.md')) continue;
      const headings = target === document ? anchors : readMarkdown(join(ROOT, target)).anchors;
      if (!headings.has(decodeURIComponent(anchor)))
        problems.push(`${where}: no heading #${anchor} in ${target}`);
    }
  }
  return problems;
}

describe('README and docs/ (every link leads somewhere)', () => {
  it('reads the README and at least the deploy guide and the design', () => {
    expect(DOCUMENTS).toEqual(expect.arrayContaining(['README.md', 'docs/deploy.md', 'docs/design.md']));
  });

  it('links only to files that exist and, inside Markdown, to headings that exist', () => {
    expect(brokenLinks()).toEqual([]);
  });

  it('sends readers to the design in this repository, not to notes outside it (shared/DESIGN.md)', () => {
    const outside = DOCUMENTS.filter((d) => readFileSync(join(ROOT, d), 'utf8').includes('shared/DESIGN.md'));
    expect(outside).toEqual([]);
  });
});
