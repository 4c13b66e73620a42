// Runs one scenario (fleet-config.ts) in a fresh manager process and returns its result.
import { forkBenchChild, nextMessage, stopChild } from './bench-processes.js';
import { SCENARIO_ENV, type FleetResult, type FleetScenario } from './fleet-config.js';

/** How long a manager process may take to leave after reporting (it has closed its fleet). */
const EXIT_GRACE_MS = 5_000;

/**
 * Forks `fixture` (a file of test/bench) with the scenario, waits up to `timeoutMs` for its result,
 * and makes sure the process is gone before returning (its instances are the runner's business at
 * the end of the section: see `killAll`).
 */
export async function runScenario<R extends FleetResult>(
  fixture:
    | 'fleet-manager.fixture'
    | 'djs-manager.fixture'
    | 'hybrid-manager.fixture'
    | 'raw-fanout.fixture',
  scenario: FleetScenario,
  timeoutMs: number,
  extraEnv: Record<string, string> = {},
): Promise<R> {
  const child = forkBenchChild(fixture, { ...extraEnv, [SCENARIO_ENV]: JSON.stringify(scenario) });
  try {
    const { result } = await nextMessage(child, 'measured', timeoutMs);
    return result as R;
  } finally {
    await stopChild(child, EXIT_GRACE_MS);
  }
}
