// Run inside a namespace by the cage tests: sends what it is told and prints what came of it as
// one JSON line, or serves a greeting on the namespace's loopback. Plain node, no project code,
// so it behaves like any process of a device.
import { createSocket } from 'node:dgram';
import { connect, createServer } from 'node:net';

export type ProbeStep = { kind: 'tcp' | 'udp'; host: string; port: number; payload: string };

export interface ProbeOutcome {
  step: ProbeStep;
  /** The probe's own port: what the capture sees as the client's. */
  localPort: number | undefined;
  reply: string | undefined;
  error: string | undefined;
}

const ANSWER_WAIT_MS = 1_500;

async function tcp(step: ProbeStep): Promise<ProbeOutcome> {
  return new Promise((resolve) => {
    const socket = connect({ host: step.host, port: step.port });
    let reply = '';
    let localPort: number | undefined;
    const done = (error?: string) => {
      socket.destroy();
      clearTimeout(timer);
      resolve({ step, localPort, reply: reply || undefined, error });
    };
    const timer = setTimeout(() => done('timeout'), ANSWER_WAIT_MS);
    socket.on('connect', () => {
      localPort = socket.localPort;
      socket.write(step.payload);
    });
    socket.on('data', (chunk: Buffer) => (reply += chunk.toString()));
    socket.on('end', () => done());
    socket.on('error', (error: NodeJS.ErrnoException) => done(error.code ?? error.message));
  });
}

async function udp(step: ProbeStep): Promise<ProbeOutcome> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    let localPort: number | undefined;
    const done = (reply?: string, error?: string) => {
      clearTimeout(timer);
      socket.close();
      resolve({ step, localPort, reply, error });
    };
    const timer = setTimeout(() => done(undefined, 'timeout'), ANSWER_WAIT_MS);
    // Connected, so an ICMP port-unreachable comes back as ECONNREFUSED.
    socket.on('error', (error: NodeJS.ErrnoException) =>
      done(undefined, error.code ?? error.message),
    );
    socket.on('message', (message: Buffer) => done(message.toString()));
    socket.connect(step.port, step.host, () => {
      localPort = socket.address().port;
      socket.send(step.payload);
    });
  });
}

const [mode, argument] = process.argv.slice(2);
if (mode === 'serve') {
  const server = createServer((socket) => socket.end('hello from inside the cage'));
  server.listen(Number(argument), '127.0.0.1', () => console.log('listening'));
} else if (mode === 'send') {
  const steps = JSON.parse(argument ?? '[]') as ProbeStep[];
  const outcomes: ProbeOutcome[] = [];
  for (const step of steps) outcomes.push(step.kind === 'tcp' ? await tcp(step) : await udp(step));
  console.log(JSON.stringify(outcomes));
} else {
  throw new Error('usage: capture-cage-probe.ts send <steps as JSON> | serve <port>');
}
