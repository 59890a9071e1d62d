/** Runs the CLI in-process with captured output. */
import { main } from '../../cli/main';

export async function runCli(
  argv: string[],
  stdin = '',
): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await main(argv, {
    out: (t) => {
      out += t;
    },
    err: (t) => {
      err += t;
    },
    readStdin: async () => Buffer.from(stdin),
  });
  return { code, out, err };
}
