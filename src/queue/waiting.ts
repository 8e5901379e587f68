import type { AnalysisJob, QueueHandle } from './analysis-queue.ts';
import { LANE_NAMES, LANES, laneBlockedReason, type LaneName } from './lanes.ts';
import { connectedWorkers, type WorkerAdvert } from './worker-registry.ts';

/** States in which a job waits for a worker to take it. */
const WAITING_STATES = new Set(['waiting', 'prioritized', 'delayed', 'waiting-children']);

/** Why a waiting job is not taken: its lane, what the lane needs, what no connected worker has. */
export interface WaitingFor {
  lane: LaneName;
  needs: readonly string[];
  /** `no worker with: kvm`; absent when a connected worker serves the lane (it is just queued). */
  blocked?: string;
}

/** What a waiting job waits for, or undefined when it is not waiting. */
export async function waitingFor(
  handle: QueueHandle,
  job: AnalysisJob,
  lane: LaneName,
  workers?: readonly WorkerAdvert[],
): Promise<WaitingFor | undefined> {
  if (!WAITING_STATES.has(await job.getState())) return undefined;
  const blocked = laneBlockedReason(
    lane,
    workers ?? (await connectedWorkers(handle.connection, handle.prefix)),
  );
  return { lane, needs: LANES[lane].needs, ...(blocked ? { blocked } : {}) };
}

/** For each lane, why its jobs cannot start now (undefined: a connected worker serves it). */
export async function blockedLanes(
  handle: QueueHandle,
): Promise<Record<LaneName, string | undefined>> {
  const workers = await connectedWorkers(handle.connection, handle.prefix);
  return Object.fromEntries(
    LANE_NAMES.map((lane) => [lane, laneBlockedReason(lane, workers)]),
  ) as Record<LaneName, string | undefined>;
}

/**
 * A waiting run in words, the same in `watch`, the API's pages and the board: why it cannot
 * start (`waiting: no worker with: kvm`), or that it is queued behind others.
 */
export function waitingText(waiting: WaitingFor): string {
  const lane = `${waiting.lane} lane: ${LANES[waiting.lane].title}`;
  return waiting.blocked
    ? `waiting: ${waiting.blocked} (${lane}); it starts when such a worker connects`
    : `queued (${lane}): waiting for a free worker`;
}
