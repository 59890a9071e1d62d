/**
 * Builds the CDK app: settings from the settings file (validated, every problem at once), the stack,
 * and the cdk-nag AwsSolutions checks, whose unacknowledged findings fail synth. `infra/app.ts` runs
 * it; the tests call it with their own settings.
 */
import { App, type AppProps, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { settingsFromFile } from './settings';
import { HlsFailoverStack } from './stack';

/** Construct id of the stack (the CloudFormation stack name comes from the `stackName` setting). */
export const STACK_ID = 'HlsFailover';

export interface CreateAppProps extends AppProps {
  /**
   * The settings file's values, already read (tests use this instead of a file).
   * @default - read from the file `-c settingsFile=` names, else deploy/settings.jsonc
   */
  readonly settings?: Readonly<Record<string, unknown>>;
}

/** The app and its one stack. */
export interface HlsFailoverApp {
  readonly app: App;
  readonly stack: HlsFailoverStack;
}

/**
 * Creates the app. Throws ConfigInvalidError listing every problem when the settings are invalid.
 *
 * @example
 * const { app } = createApp({ settings: { alertEmails: ['oncall@example.com'] } });
 * app.synth(); // throws if cdk-nag reports an unacknowledged finding
 */
export function createApp(props: CreateAppProps = {}): HlsFailoverApp {
  const { settings: content, ...appProps } = props;
  const app = new App(appProps);
  const settings = settingsFromFile(app, content);
  const stack = new HlsFailoverStack(app, STACK_ID, { settings });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack };
}
