/**
 * PublishHealthMetrics (and RecordWorkflowFailure): writes the metrics as CloudWatch embedded
 * metric format lines, and returns the execution's audit record (functions/audit.ts) for the ASL
 * to keep in `$.audit`, so it is in the execution's output and its log.
 */
import { type AuditInput, type AuditRecord, buildAuditRecord } from '../audit';
import { type MetricDatum, toEmf } from '../metrics';
import { createDeps, type HandlerDeps } from './deps';

export type MetricsInput = (
  | { readonly metrics: readonly MetricDatum[] }
  | { readonly failure: { readonly error?: unknown } }
) & {
  /** When given, the audit record of the execution is built and returned. */
  readonly audit?: AuditInput;
};

export function createPublishMetrics(deps: HandlerDeps) {
  const { settings, now, emitMetricLine } = deps;
  return async (input: MetricsInput): Promise<AuditRecord | null> => {
    const data: readonly MetricDatum[] =
      'metrics' in input
        ? (input.metrics ?? [])
        : [{ name: 'WorkflowFailures', value: 1, unit: 'Count', dimensions: {} }];
    for (const line of toEmf(settings.metricsNamespace, data, now())) emitMetricLine(line);
    return input.audit === undefined ? null : buildAuditRecord(input.audit);
  };
}

export const handler = createPublishMetrics(createDeps({ functionName: 'PublishHealthMetrics' }));
