// The reference of the fan-out measurement: the same loop as the manager fixture's (fanout-loop.ts)
// over bare `node:net` sockets (raw-transport.ts) to N bare servers (raw-server.fixture.ts, forked
// by the runner): what fanning a request out to N processes costs on this machine with no library
// at all.
import { connect, type Socket } from 'node:net';
import { BenchEvent, payloadOf } from './bench-config.js';
import { measureFanout } from './fanout-loop.js';
import { scenarioFromEnv, type FanoutResult } from './fleet-config.js';
import { exitWithParent, fail, report } from './measurements.js';
import { RawTransport } from './raw-transport.js';

exitWithParent();

/** One echo request; whether the reply is the right one. */
async function echo(link: RawTransport, n: number): Promise<boolean> {
  const reply = (await link.request(BenchEvent.ECHO, payloadOf(n))) as { n: number };
  return reply.n === n;
}

try {
  const scenario = scenarioFromEnv();
  if (scenario.kind !== 'fanout' || scenario.raw === undefined)
    throw new Error('raw-fanout needs a fanout scenario with its raw servers');
  const { raw } = scenario;
  const sockets = await Promise.all(
    raw.sockets.map(
      (path) =>
        new Promise<Socket>((resolve, reject) => {
          const socket = connect({ path });
          socket.once('connect', () => resolve(socket));
          socket.once('error', reject);
        }),
    ),
  );
  const links = sockets.map((socket) => {
    socket.setEncoding('utf8');
    return new RawTransport(socket, raw.idTemplate);
  });
  const measure = await measureFanout(
    {
      single: (n) => echo(links[0]!, n),
      broadcast: async (n) => {
        const replies = await Promise.all(links.map((link) => echo(link, n)));
        return replies.every(Boolean);
      },
    },
    { ...scenario, instancePids: raw.pids },
  );
  const result: FanoutResult = {
    kind: 'fanout',
    impl: 'raw-net',
    instances: scenario.instances,
    bootMs: Number.NaN,
    ...measure,
  };
  await report({ type: 'measured', result });
  // The servers leave when their socket closes.
  for (const socket of sockets) socket.end();
  process.exit(0);
} catch (error) {
  await fail(error);
}
