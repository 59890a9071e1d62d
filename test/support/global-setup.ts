/**
 * Before the integration and end-to-end tests: synthesize the stack (both modes' assemblies) when
 * one is missing or older than the sources, since those tests run the synthesized artifact (unless
 * HLS_FAILOVER_FROM_SOURCES=1 runs them from the sources).
 */
import { ensureSynthesized, PUBLISHED_ASSEMBLY, STACK_ID } from '../../local/synthesize';

export default async function globalSetup(): Promise<void> {
  if (process.env.HLS_FAILOVER_FROM_SOURCES === '1') return;
  const print = (line: string) => process.stderr.write(`${line}\n`);
  await ensureSynthesized(STACK_ID, print);
  // The published-mode stack (deploy/published.jsonc), for the tests in that mode.
  await ensureSynthesized(STACK_ID, print, PUBLISHED_ASSEMBLY);
}
