import { readFileSync } from 'node:fs';
import { join } from 'node:path';
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
});
