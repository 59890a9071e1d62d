/**
 * Before the integration and end-to-end tests: synthesize the stack when `cdk.out/` is missing or
 * older than the sources, since those tests run the synthesized artifact (unless
 * HLS_FAILOVER_FROM_SOURCES=1 runs them from the sources).
 */
import { ensureSynthesized, STACK_ID } from '../../local/synthesize';

export default async function globalSetup(): Promise<void> {
  if (process.env.HLS_FAILOVER_FROM_SOURCES === '1') return;
  await ensureSynthesized(STACK_ID, (line) => process.stderr.write(`${line}\n`));
}
