import { readFileSync } from 'node:fs';
import * as workflowErrors from '../../../functions/errors';
import {
  buildSubstitutions,
  placeholdersOf,
  STATE_MACHINE_FILE,
  substitute,
  WORKFLOW_FUNCTIONS,
  type WorkflowFunction,
} from '../../../functions/workflow';

// asl-validator ships CommonJS without types.
const validator = require('asl-validator') as (definition: unknown) => {
  isValid: boolean;
  errors: unknown[];
};

const text = readFileSync(STATE_MACHINE_FILE, 'utf8');
const definition = JSON.parse(text) as { States: Record<string, unknown> };
const ARN = 'arn:aws:lambda:eu-west-1:123456789012:function:hls-failover-fn';
const functionArns = Object.fromEntries(
  Object.keys(WORKFLOW_FUNCTIONS).map((f) => [f, `${ARN}-${f}`]),
) as Record<WorkflowFunction, string>;
const substitutions = buildSubstitutions(functionArns, 'arn:aws:sns:eu-west-1:123456789012:alerts');

/** Every object in the definition, nested Map processors included. */
function walk(node: unknown, visit: (o: Record<string, unknown>) => void): void {
  if (Array.isArray(node)) for (const n of node) walk(n, visit);
  else if (node !== null && typeof node === 'object') {
    visit(node as Record<string, unknown>);
    for (const v of Object.values(node)) walk(v, visit);
  }
}

describe('statemachine/hls-failover.asl.json', () => {
  it('is JSON with every placeholder inside a string, and asl-validator accepts it as written', () => {
    expect(validator(definition)).toMatchObject({ isValid: true, errors: [] });
  });

  it('is accepted after substitution too, with no placeholder left', () => {
    const filled = substitute(text, substitutions);
    expect(filled.includes('$' + '{')).toBe(false);
    expect(validator(JSON.parse(filled))).toMatchObject({ isValid: true, errors: [] });
  });

  it('uses exactly the placeholders that buildSubstitutions fills', () => {
    expect([...placeholdersOf(text)].sort()).toEqual(Object.keys(substitutions).sort());
  });

  it('names its states for the people who read execution history', () => {
    const names = new Set<string>();
    walk(definition, (o) => {
      if (o.States && typeof o.States === 'object') for (const name of Object.keys(o.States)) names.add(name);
    });
    for (const state of [
      'ValidatePlaylist',
      'CheckCounterpartFreshness',
      'MergeIndex',
      'WithdrawStalePlaylists',
      'PublishHealthMetrics',
      'NotifyOnCall',
      'Watchdog',
      'PlaylistInvalid',
    ]) {
      expect(names).toContain(state);
    }
  });

  it('catches only error names that exist as error classes in code (the ErrorEquals contract)', () => {
    const caught = new Set<string>();
    walk(definition, (o) => {
      if (Array.isArray(o.ErrorEquals)) for (const name of o.ErrorEquals as string[]) caught.add(name);
    });
    const ours = [...caught].filter((n) => !/^(States|Lambda|SNS)\./.test(n));
    // The names instances carry (Lambda reports `error.name`), not class names, which minification renames.
    const errorNames = Object.values(workflowErrors)
      .filter((v) => typeof v === 'function')
      .map((c) => (Reflect.construct(c as new (...args: unknown[]) => Error, [[]]) as Error).name);
    expect(ours.length).toBeGreaterThan(0);
    for (const name of ours) expect(errorNames).toContain(name);
  });

  it('retries transient failures with backoff on every Lambda task', () => {
    walk(definition, (o) => {
      if (o.Type !== 'Task' || typeof o.Resource !== 'string' || !o.Resource.includes('FunctionArn')) return;
      const retry = o.Retry as { ErrorEquals: string[]; BackoffRate: number }[];
      expect(
        retry.some((r) => r.ErrorEquals.includes('Lambda.TooManyRequestsException') && r.BackoffRate >= 2),
      ).toBe(true);
    });
  });

  it('never succeeds silently after a failure: every Catch leads to a Fail state or to one that ends in CheckOutcome', () => {
    const states = definition.States as Record<string, { Type: string; Catch?: { Next: string }[] }>;
    for (const [name, state] of Object.entries(states)) {
      for (const c of state.Catch ?? []) {
        const target = states[c.Next];
        expect([`${name} → ${c.Next}`, target?.Type]).not.toEqual([`${name} → ${c.Next}`, 'Succeed']);
      }
    }
    expect(states.CheckOutcome).toMatchObject({ Type: 'Choice', Default: 'Done' });
  });
});
