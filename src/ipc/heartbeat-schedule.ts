/**
 * How many phases the heartbeats of a fleet are spread over: instance `i` beats at phase
 * `i % HEARTBEAT_PHASES` of each interval, on the wall clock's grid.
 *
 * Why: a manager woken once per heartbeat pays the event loop's whole wake-up (epoll, timers, the
 * kernel's scheduling) for each one, and that, not the packet, is most of a heartbeat's cost on a
 * small machine. Heartbeats that arrive together are read in one wake-up. Instances booted at
 * random times beat at random phases; on a shared grid the heartbeats of a thousand instances
 * come in 10 bursts of a hundred per interval (a few ms of work each) instead of a thousand
 * separate wake-ups. More phases would wake the manager more often; fewer would make each burst
 * (and the delay it adds to other work) longer as the fleet grows.
 */
export const HEARTBEAT_PHASES = 10;

/**
 * The delay until instance `instance`'s next heartbeat on its phase of the `interval` grid, at
 * wall-clock time `now` (ms since the Unix epoch): the first grid point at least half an interval
 * away, so between `interval / 2` and `1.5 × interval` ms. Recomputed for every beat, so that
 * timer lateness never accumulates and the instances stay in step. Half an interval, not zero:
 * a timer measures from the event loop's cached time and can fire a fraction of a ms before its
 * grid point by the wall clock; the next point is then a whole interval away, not a beat at once.
 */
export function nextHeartbeatDelay(instance: number, interval: number, now = Date.now()): number {
  const phase = (Math.abs(instance) % HEARTBEAT_PHASES) * (interval / HEARTBEAT_PHASES);
  const untilPhase = interval - ((((now - phase) % interval) + interval) % interval);
  return Math.round(untilPhase < interval / 2 ? untilPhase + interval : untilPhase);
}
