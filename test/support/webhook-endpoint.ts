/** A webhook endpoint for the local runtime's tests: it records each POSTed alert. */
import { createServer, type ServerResponse } from 'node:http';
import { listen } from '../../local/listen';

/** A webhook endpoint that answers each POST with the next of `answers` (then the last one); 'silent' never answers. */
export async function webhookEndpoint(answers: (number | 'silent')[]) {
  const received: unknown[] = [];
  const waiting: ServerResponse[] = [];
  const server = createServer((req, res) => {
    let text = '';
    req.on('data', (chunk: Buffer) => {
      text += chunk.toString();
    });
    req.on('end', () => {
      received.push(JSON.parse(text));
      const answer = answers[Math.min(received.length, answers.length) - 1];
      if (answer === 'silent') return void waiting.push(res);
      res.writeHead(answer as number).end();
    });
  });
  const port = await listen(server, 0, '127.0.0.1');
  return {
    url: `http://127.0.0.1:${port}/`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
