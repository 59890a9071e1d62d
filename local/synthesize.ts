/**
 * Keeps `cdk.out/` in step with the sources: the local runtime and the integration tests run the
 * synthesized artifact, so a fresh clone or an edited handler synthesizes first.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync, utimesSync } from 'node:fs';
import { join, relative } from 'node:path';
import { CLOUD_ASSEMBLY_DIR } from './cloudformation';

const REPO_ROOT = join(__dirname, '..');

/** The stack id `cdk synth` writes (`cdk.out/<id>.template.json`; infra/create-app.ts). */
export const STACK_ID = 'HlsFailover';

/** What `cdk synth` reads: a change to any of these makes `cdk.out/` stale. */
export const SYNTH_INPUTS = [
  'functions',
  'statemachine',
  'infra',
  'deploy',
  'cdk.json',
  'package-lock.json',
] as const;

/** The newest file under `path` (a file or a folder), with its modification time. */
function newest(path: string): { file: string; mtimeMs: number } | undefined {
  if (!existsSync(path)) return undefined;
  const stat = statSync(path);
  if (!stat.isDirectory()) return { file: path, mtimeMs: stat.mtimeMs };
  let found: { file: string; mtimeMs: number } | undefined;
  for (const entry of readdirSync(path)) {
    const candidate = newest(join(path, entry));
    if (candidate !== undefined && (found === undefined || candidate.mtimeMs > found.mtimeMs))
      found = candidate;
  }
  return found;
}

/**
 * Why the synthesized stack is out of date (missing, or older than a source file), or undefined
 * when it is current.
 */
export function staleReason(
  stackId: string,
  root = REPO_ROOT,
  assembly = CLOUD_ASSEMBLY_DIR,
): string | undefined {
  const template = join(assembly, `${stackId}.template.json`);
  if (!existsSync(template)) return `${relative(root, template)} does not exist`;
  const synthesizedAt = statSync(template).mtimeMs;
  for (const input of SYNTH_INPUTS) {
    const changed = newest(join(root, input));
    if (changed !== undefined && changed.mtimeMs > synthesizedAt)
      return `${relative(root, changed.file)} changed after the last synth`;
  }
  return undefined;
}

/**
 * Synthesizes the stack (`npm run synth`) when `cdk.out/` is stale, saying so and showing each
 * asset as it is bundled. Rejects with cdk's output when synth fails.
 */
export async function ensureSynthesized(stackId: string, print: (line: string) => void): Promise<void> {
  const reason = staleReason(stackId);
  if (reason === undefined) return;
  print(
    `synthesizing the stack (npm run synth) so the local runtime runs what cdk deploy uploads (${reason})…`,
  );
  const started = Date.now();
  const output: string[] = [];
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn('npm', ['run', '--silent', 'synth'], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const onData = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) {
        if (line.trim() === '') continue;
        output.push(line);
        if (line.startsWith('Bundling asset')) print(`  ${line}`);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', reject);
    child.on('close', resolve);
  });
  if (code !== 0) throw new Error(`npm run synth failed (exit ${code}):\n${output.join('\n')}`);
  // cdk may leave an unchanged template as it was: mark it current.
  const template = join(CLOUD_ASSEMBLY_DIR, `${stackId}.template.json`);
  const now = new Date();
  utimesSync(template, now, now);
  print(`synthesized in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
