/**
 * The project's Markdown as GitHub renders it: parsed with markdown-it (so links inside code are not
 * links), heading anchors from github-slugger (GitHub's own algorithm, duplicates numbered).
 */
import { readFileSync } from 'node:fs';
import GithubSlugger from 'github-slugger';
import MarkdownIt from 'markdown-it';

/** One link of a Markdown file: its target as written, and the line it is on (1-based). */
export interface MarkdownLink {
  readonly href: string;
  readonly line: number;
}

export interface MarkdownDocument {
  /** The anchors GitHub gives the headings (`## Runbook: STALLED` → `runbook-stalled`). */
  readonly anchors: ReadonlySet<string>;
  readonly links: readonly MarkdownLink[];
}

const markdown = new MarkdownIt();

/** Reads a Markdown file: its heading anchors and its links. */
export function readMarkdown(path: string): MarkdownDocument {
  const tokens = markdown.parse(readFileSync(path, 'utf8'), {});
  const slugger = new GithubSlugger();
  const anchors = new Set<string>();
  const links: MarkdownLink[] = [];
  tokens.forEach((token, i) => {
    if (token.type !== 'inline') return;
    const children = token.children ?? [];
    if (tokens[i - 1]?.type === 'heading_open') {
      // GitHub slugs the heading's text as shown: code spans keep their text, markup goes.
      const text = children
        .filter((c) => c.type === 'text' || c.type === 'code_inline')
        .map((c) => c.content)
        .join('');
      anchors.add(slugger.slug(text));
    }
    for (const child of children) {
      const href = child.type === 'link_open' ? child.attrGet('href') : null;
      if (typeof href === 'string') links.push({ href, line: (token.map?.[0] ?? 0) + 1 });
    }
  });
  return { anchors, links };
}
