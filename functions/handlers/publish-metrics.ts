/**
 * PublishHealthMetrics (and RecordInvalidPlaylist / RecordWorkflowFailure): writes the metrics as
 * CloudWatch embedded metric format lines.
 */
import { channelLabel } from '../alerts';
import { keyCandidates, parseEncoderKey } from '../keys';
import { type MetricDatum, toEmf } from '../metrics';
import { createDeps, type HandlerDeps } from './deps';

export type MetricsInput =
  | { readonly metrics: readonly MetricDatum[] }
  | { readonly invalid: { readonly key: string; readonly error?: unknown } }
  | { readonly failure: { readonly error?: unknown } };

export function createPublishMetrics(deps: HandlerDeps) {
  const { settings, now, emitMetricLine } = deps;
  return async (input: MetricsInput): Promise<{ readonly lines: number }> => {
    let data: readonly MetricDatum[];
    if ('metrics' in input) data = input.metrics ?? [];
    else if ('invalid' in input) {
      const parsed = keyCandidates(input.invalid.key)
        .map((k) => parseEncoderKey(k, settings.encoders))
        .find((p) => p !== undefined);
      const dimensions =
        parsed === undefined ? {} : { Channel: channelLabel(parsed.channel), Encoder: parsed.encoder };
      data = [{ name: 'InvalidPlaylists', value: 1, unit: 'Count', dimensions, aggregate: true }];
    } else data = [{ name: 'WorkflowFailures', value: 1, unit: 'Count', dimensions: {} }];
    const lines = toEmf(settings.metricsNamespace, data, now());
    for (const line of lines) emitMetricLine(line);
    return { lines: lines.length };
  };
}

export const handler = createPublishMetrics(createDeps({ functionName: 'PublishHealthMetrics' }));
