// `npm run bench`: the sections below, each figure a ratio against a baseline measured in the same
// run (absolute values printed too). Markdown tables go to stdout, progress to stderr, and the
// results are merged into `build/bench-results.json` (a section not run keeps its last results).
//
// Sections, chosen with BENCH_SECTIONS (comma-separated; default all):
// - ipc: IpcClient/IpcServer request latency and throughput against a raw `node:net` socket
//   (ipc-section.ts; its results stay at the top level of the JSON file, as before);
// - fleet: broadcastRequest fan-out, restart after SIGKILL, memory per instance per mode
//   (fleet-section.ts); its parts alone as fleet-fanout, fleet-restart, fleet-memory;
// - discord: 32 shards online against the gateway emulator, ours and discord.js's
//   ShardingManager (discord-section.ts);
// - discord-roll: a restart of every process of a 16-shard bot against the emulator: our
//   rollingRestart() against restart(i) one by one (@discordjs/ws bots) and against discord.js's
//   ShardingManager.respawnAll() (discord.js bots) (roll-section.ts);
// - discord-failover: a SIGKILLed instance of a 16-shard @discordjs/ws bot, its shards back with a
//   warm spare against without one (failover-section.ts);
// - status-page: the manager's CPU with its status page open (one client streaming /events)
//   against closed, same fleet, same run (status-page-section.ts);
// - scale: the manager with 1,000 simulated instance links: CPU and allocations per heartbeat,
//   routing at 1k and 10k shards, broadcastRequest to every instance (scale-section.ts);
// - multi-host: the cost of coordination through Redis per step (identify gate, lease renewal)
//   against a bare Redis round trip (multi-host-section.ts).
//
// Every process the bench starts, and every process those start, is killed at the end of each
// section and of the run, whatever way it ends (bench-processes.ts).
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { killAll, killChildrenOnExit, runningDescendants } from './bench-processes.js';
import { runDiscordSection } from './discord-section.js';
import { runFailoverSection } from './failover-section.js';
import { runMultiHostSection } from './multi-host-section.js';
import { FLEET_PARTS, runFleetSection, type FleetPart } from './fleet-section.js';
import { describeMachine, runIpcSection } from './ipc-section.js';
import { runRollSection } from './roll-section.js';
import { runScaleSection } from './scale-section.js';
import { runStatusPageSection } from './status-page-section.js';

const BUILD_DIR = fileURLToPath(new URL('../../', import.meta.url));
const RESULTS_FILE = join(BUILD_DIR, 'bench-results.json');

/**
 * Every section but ipc: its heading, the key of its results in the JSON file, and its runner (the
 * fleet section also takes the parts BENCH_SECTIONS chose).
 */
const SECTION_RUNNERS = {
  fleet: { heading: 'Fleet', key: 'fleet', run: runFleetSection },
  discord: { heading: 'Discord', key: 'discord', run: runDiscordSection },
  'discord-roll': { heading: 'Discord: rolling restart', key: 'discordRoll', run: runRollSection },
  'discord-failover': {
    heading: 'Discord: failover',
    key: 'discordFailover',
    run: runFailoverSection,
  },
  'status-page': { heading: 'Status page', key: 'statusPage', run: runStatusPageSection },
  scale: { heading: 'Scale', key: 'scale', run: runScaleSection },
  'multi-host': {
    heading: 'Several hosts: coordination through Redis',
    key: 'multiHost',
    run: runMultiHostSection,
  },
} as const;
const SECTIONS: readonly Section[] = ['ipc', ...(Object.keys(SECTION_RUNNERS) as Section[])];
type Section = 'ipc' | keyof typeof SECTION_RUNNERS;

/** What BENCH_SECTIONS chose: the sections, and the fleet parts. */
interface Selection {
  sections: Section[];
  fleetParts: FleetPart[];
}

killChildrenOnExit();

async function main(): Promise<boolean> {
  const started = performance.now();
  const selection = selectionFromEnv();
  const machine = describeMachine();
  console.log(
    `Node ${machine.node} | ${machine.cpuModel} | ${machine.cores} cores (${machine.platform})`,
  );
  const results: Record<string, unknown> = {};
  const failures: Record<string, string> = {};
  for (const section of selection.sections) {
    const sectionStart = performance.now();
    console.error(`\n[${section}]`);
    try {
      if (section === 'ipc') {
        results.ipc = await runIpcSection();
      } else {
        const runner = SECTION_RUNNERS[section];
        console.log(`\n## ${runner.heading}`);
        results[runner.key] = await runner.run(selection.fleetParts);
      }
    } catch (error) {
      failures[section] = error instanceof Error ? (error.stack ?? error.message) : String(error);
      console.error(`The ${section} section failed:`, error);
      console.log(`\n(the ${section} section failed: ${(error as Error).message ?? error})`);
    } finally {
      await killAll();
    }
    console.error(`[${section}: ${((performance.now() - sectionStart) / 1000).toFixed(1)} s]`);
  }

  const totalSeconds = (performance.now() - started) / 1000;
  await writeResults(selection, results, failures, machine, totalSeconds);
  const left = runningDescendants();
  if (left.length > 0) console.error(`Processes still running after the bench: ${left.join(', ')}`);
  console.log(`\nWrote ${RESULTS_FILE} in ${totalSeconds.toFixed(1)} s.`);
  return Object.keys(failures).length === 0;
}

/**
 * Merges this run's sections into the results file: the ipc section's fields at the top level
 * (the file's format before the other sections), `fleet` (per part), `discord`, `discordRoll`
 * and the other sections' keys below; what this run did not measure stays as the last run left it.
 */
async function writeResults(
  selection: Selection,
  results: Record<string, unknown>,
  failures: Record<string, string>,
  machine: ReturnType<typeof describeMachine>,
  totalSeconds: number,
): Promise<void> {
  let merged: Record<string, unknown> = {};
  try {
    merged = JSON.parse(await readFile(RESULTS_FILE, 'utf8')) as Record<string, unknown>;
  } catch {
    // No file yet, or not ours: start afresh.
  }
  merged.generatedAt = new Date().toISOString();
  merged.machine = machine;
  if (results.ipc !== undefined) Object.assign(merged, results.ipc);
  if (results.fleet !== undefined) {
    merged.fleet = {
      ...(merged.fleet as Record<string, unknown> | undefined),
      ...(results.fleet as Record<string, unknown>),
    };
  }
  for (const { key } of Object.values(SECTION_RUNNERS)) {
    if (key !== 'fleet' && results[key] !== undefined) merged[key] = results[key];
  }
  merged.lastRun = {
    sections: selection.sections,
    fleetParts: selection.sections.includes('fleet') ? selection.fleetParts : [],
    totalSeconds: Math.round(totalSeconds * 10) / 10,
    failures,
  };
  await writeFile(RESULTS_FILE, JSON.stringify(merged, null, 2) + '\n');
}

/** BENCH_SECTIONS: `ipc`, a key of SECTION_RUNNERS, or a fleet part (`fleet-fanout`, …). */
function selectionFromEnv(): Selection {
  const raw = process.env.BENCH_SECTIONS;
  if (raw === undefined || raw.trim() === '') {
    return { sections: [...SECTIONS], fleetParts: [...FLEET_PARTS] };
  }
  const sections = new Set<Section>();
  const fleetParts = new Set<FleetPart>();
  for (const name of raw.split(',').map((item) => item.trim())) {
    if (name === 'fleet') {
      sections.add('fleet');
      for (const part of FLEET_PARTS) fleetParts.add(part);
    } else if (name.startsWith('fleet-') && FLEET_PARTS.includes(name.slice(6) as FleetPart)) {
      sections.add('fleet');
      fleetParts.add(name.slice(6) as FleetPart);
    } else if (SECTIONS.includes(name as Section)) {
      sections.add(name as Section);
    } else {
      throw new Error(
        `BENCH_SECTIONS lists "${name}"; known: ${SECTIONS.join(', ')}, ` +
          FLEET_PARTS.map((part) => `fleet-${part}`).join(', '),
      );
    }
  }
  return {
    sections: SECTIONS.filter((section) => sections.has(section)),
    fleetParts: FLEET_PARTS.filter((part) => fleetParts.has(part)),
  };
}

try {
  if (!(await main())) process.exitCode = 1;
} catch (error) {
  console.error('The bench failed:', error);
  await killAll();
  process.exitCode = 1;
}
