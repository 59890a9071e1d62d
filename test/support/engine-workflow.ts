/**
 * The workflow as the ASL file runs it: the local engine (aws-local-stepfunctions) with every Task
 * bound to the handlers of {@link workflow}, over the fake S3, with fast retries.
 */
import { createLocalWorkflow, type ExecutionRecord } from '../../local/engine';
import { FakeS3 } from './fake-s3';
import { workflow } from './workflow-driver';

/**
 * A fresh fake S3, the engine, the handlers' driver (`run`), the subjects of the alerts sent, and
 * `started()`: the executions that executions started (the watchdog's per-channel checks), once
 * they are all done. `settings`: the handlers' (the defaults for the rest).
 */
export function engineWorkflow(settings: Record<string, unknown> = {}) {
  const s3 = new FakeS3();
  const run = workflow(s3, settings);
  const alerts: string[] = [];
  const children: Promise<ExecutionRecord>[] = [];
  const engine = createLocalWorkflow({
    deps: run.deps,
    publishAlert: async (a) => void alerts.push(a.subject),
    fastRetries: true,
    startExecution: (input) => void children.push(engine.run(input)),
  });
  const started = async () => {
    const records: ExecutionRecord[] = [];
    while (records.length < children.length)
      records.push(...(await Promise.all(children.slice(records.length))));
    return records;
  };
  return { s3, run, engine, alerts, started };
}
