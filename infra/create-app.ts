/**
 * Builds the CDK app: settings from context (validated, every problem at once), the stack, and the
 * cdk-nag AwsSolutions checks, whose unacknowledged findings fail synth. `infra/app.ts` runs it; the
 * tests call it with their own context.
 */
import { App, type AppProps, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { settingsFromContext } from './settings';
import { HlsFailoverStack } from './stack';

/** Construct id of the stack (the CloudFormation stack name comes from the `stackName` setting). */
export const STACK_ID = 'HlsFailover';

/** The app and its one stack. */
export interface HlsFailoverApp {
  readonly app: App;
  readonly stack: HlsFailoverStack;
}

/**
 * Creates the app. Throws ConfigInvalidError listing every problem when the context is invalid.
 *
 * @example
 * const { app } = createApp({ context: { alertEmails: 'oncall@example.com' } });
 * app.synth(); // throws if cdk-nag reports an unacknowledged finding
 */
export function createApp(props: AppProps = {}): HlsFailoverApp {
  const app = new App(props);
  const settings = settingsFromContext(app);
  const stack = new HlsFailoverStack(app, STACK_ID, { settings });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack };
}
