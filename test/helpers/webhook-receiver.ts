/**
 * A webhook endpoint on loopback for the alert tests: it keeps the JSON body
 * of every POST it is sent and answers each with one status code.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface WebhookReceiver {
  /** `http://127.0.0.1:PORT{path}`: what the alert settings take as the webhook URL. */
  url: string;
  /** The bodies received, oldest first. */
  posts: Record<string, unknown>[];
  /** Stops listening; resolves also when it has stopped already. */
  close(): Promise<void>;
}

/** Starts a receiver on a free port whose URL ends in `path` (the part of a real webhook URL that is its secret). */
export async function startWebhookReceiver(path: string, status = 200): Promise<WebhookReceiver> {
  const posts: Record<string, unknown>[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      posts.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>);
      res.writeHead(status, { 'content-type': 'text/plain' }).end('1');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${path}`,
    posts,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
