// The "internet" of a namespace test: run inside the test's internet namespace (which holds the
// TEST-NET addresses), it serves what the device's apps reach and, on SIGTERM, prints one JSON
// line with everything it saw. Usage: node --import tsx lab-netns-internet.ts '<Config JSON>'.
import { createServer as createTcpServer, type Server } from 'node:net';
import { createServer as createHttpsServer } from 'node:https';
import type { TLSSocket } from 'node:tls';
import { startDnsServer } from './lab-behaviour-test-network.ts';

export interface InternetConfig {
  /** UDP DNS servers on port 53 answering every A query with `answer`. */
  dns: Array<{ ip: string; answer: string }>;
  /** Raw TCP listeners that keep what they receive. */
  tcp: Array<{ ip: string; port: number }>;
  /** HTTPS servers (PEM key and certificate) that answer 200 and keep each request. */
  https: Array<{ ip: string; port: number; key: string; cert: string }>;
}

export interface InternetSeen {
  dns: Array<{ server: string; names: string[] }>;
  tcp: Array<{ ip: string; port: number; data: string }>;
  https: Array<{
    ip: string;
    /** The SNI the client sent; absent when it sent none. */
    servername?: string;
    method: string;
    url: string;
    headers: Record<string, string | string[] | undefined>;
    body: string;
  }>;
}

function listen(server: Server, ip: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, ip, () => resolve());
  });
}

async function main(config: InternetConfig): Promise<void> {
  const seen: InternetSeen = { dns: [], tcp: [], https: [] };
  const dnsServers = await Promise.all(
    config.dns.map(async ({ ip, answer }) => ({
      ip,
      server: await startDnsServer({ host: ip, port: 53, answer }),
    })),
  );
  for (const { ip, port } of config.tcp) {
    const server = createTcpServer((socket) => {
      const chunks: Buffer[] = [];
      socket.on('data', (chunk: Buffer) => chunks.push(chunk));
      socket.on('end', () => {
        seen.tcp.push({ ip, port, data: Buffer.concat(chunks).toString('base64') });
        socket.end();
      });
      socket.on('error', () => undefined);
    });
    await listen(server, ip, port);
  }
  for (const { ip, port, key, cert } of config.https) {
    const server = createHttpsServer({ key, cert }, (request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const servername = (request.socket as TLSSocket).servername;
        seen.https.push({
          ip,
          ...(typeof servername === 'string' ? { servername } : {}),
          method: request.method ?? '',
          url: request.url ?? '',
          headers: request.headers,
          body: Buffer.concat(chunks).toString('base64'),
        });
        response.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      });
    });
    await listen(server, ip, port);
  }
  process.once('SIGTERM', () => {
    seen.dns = dnsServers.map(({ ip, server }) => ({ server: ip, names: server.names }));
    process.stdout.write(`${JSON.stringify(seen)}\n`, () => process.exit(0));
  });
  process.stdout.write('ready\n');
}

main(JSON.parse(process.argv[2] ?? '{}') as InternetConfig).catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exit(1);
});
