/**
 * PublishHealthMetrics (and RecordWorkflowFailure): writes the metrics as CloudWatch embedded
 * metric format lines, and the execution's audit record (functions/audit.ts), when it has one, as
 * one log line: the audit trail, which `hls-failover audit --stack` reads from this function's log
 * group. Returns the record for the ASL to keep in `$.audit` (the execution's output).
 */
import { AUDIT_LOG_MESSAGE, type AuditInput, type AuditRecord, buildAuditRecord } from '../audit';
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
  const { settings, now, emitMetricLine, log } = deps;
  return async (input: MetricsInput): Promise<AuditRecord | null> => {
    const data: readonly MetricDatum[] =
      'metrics' in input
        ? (input.metrics ?? [])
        : [{ name: 'WorkflowFailures', value: 1, unit: 'Count', dimensions: {} }];
    for (const line of toEmf(settings.metricsNamespace, data, now())) emitMetricLine(line);
    const record = input.audit === undefined ? null : buildAuditRecord(input.audit);
    if (record !== null) log.info(AUDIT_LOG_MESSAGE, { audit: record });
    return record;
  };
}

export const handler = createPublishMetrics(createDeps({ functionName: 'PublishHealthMetrics' }));
