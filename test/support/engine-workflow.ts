/**
 * The workflow as the ASL file runs it: the local engine (aws-local-stepfunctions) with every Task
 * bound to the handlers of {@link workflow}, over the fake S3, with fast retries.
 */
import { createLocalWorkflow } from '../../local/engine';
import { FakeS3 } from './fake-s3';
import { workflow } from './workflow-driver';

/** A fresh fake S3, the engine, the handlers' driver (`run`), and the subjects of the alerts sent. */
export function engineWorkflow() {
  const s3 = new FakeS3();
  const run = workflow(s3);
  const alerts: string[] = [];
  const engine = createLocalWorkflow({
    deps: run.deps,
    publishAlert: async (a) => void alerts.push(a.subject),
    fastRetries: true,
  });
  return { s3, run, engine, alerts };
}
