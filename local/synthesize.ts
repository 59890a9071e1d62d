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

/** A synthesized stack: where it is written, and the deploy settings file it is synthesized from. */
export interface Assembly {
  readonly directory: string;
  /** Repo-relative; undefined: the deploy's default (deploy/settings.jsonc). */
  readonly settingsFile?: string;
}

/** What `cdk deploy` uploads with the default settings (direct mode). */
export const DIRECT_ASSEMBLY: Assembly = { directory: CLOUD_ASSEMBLY_DIR };

/** The stack of a published-mode deploy (deploy/published.jsonc), for the local runtime in that mode. */
export const PUBLISHED_ASSEMBLY: Assembly = {
  directory: join(REPO_ROOT, 'cdk.out.published'),
  settingsFile: 'deploy/published.jsonc',
};

/** The assembly the local runtime runs for a `publishing` setting: the mode changes IAM and the bucket policy. */
export function assemblyFor(publishing: string): Assembly {
  return publishing === 'published' ? PUBLISHED_ASSEMBLY : DIRECT_ASSEMBLY;
}

/**
 * Synthesizes the stack (`npm run synth`) when its assembly is stale, saying so and showing each
 * asset as it is bundled. Rejects with cdk's output when synth fails.
 */
export async function ensureSynthesized(
  stackId: string,
  print: (line: string) => void,
  assembly: Assembly = DIRECT_ASSEMBLY,
): Promise<void> {
  const reason = staleReason(stackId, REPO_ROOT, assembly.directory);
  if (reason === undefined) return;
  const command =
    assembly.settingsFile === undefined
      ? 'npm run synth'
      : `npm run synth -- -c settingsFile=${assembly.settingsFile} --output ${relative(REPO_ROOT, assembly.directory)}`;
  print(`synthesizing the stack (${command}) so the local runtime runs what cdk deploy uploads (${reason})…`);
  const started = Date.now();
  const output: string[] = [];
  const extra =
    assembly.settingsFile === undefined
      ? []
      : ['--', '-c', `settingsFile=${assembly.settingsFile}`, '--output', assembly.directory];
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn('npm', ['run', '--silent', 'synth', ...extra], {
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
  if (code !== 0) throw new Error(`${command} failed (exit ${code}):\n${output.join('\n')}`);
  // cdk may leave an unchanged template as it was: mark it current.
  const template = join(assembly.directory, `${stackId}.template.json`);
  const now = new Date();
  utimesSync(template, now, now);
  print(`synthesized in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
