import type { Queue } from 'bullmq';

/**
 * True when no job will run under `jobId` in `queue`; a finished job of that id is removed so
 * a new one can take the id. A job BullMQ will still run (waiting, delayed, active) has no
 * `finishedOn` yet. This reads the job's hash, in constant time: `getJobState` finds a waiting
 * job by scanning the wait list, which made a sweep over a backlog of N waiting jobs cost
 * O(N²) in Redis.
 */
export async function needsNewJob(queue: Queue, jobId: string): Promise<boolean> {
  const job = await queue.getJob(jobId);
  if (job === undefined) return true;
  if (job.finishedOn === undefined) return false;
  // Completed, or failed (retries spent, or "stalled more than allowable limit"). A job picked
  // up again meanwhile is locked and stays: then it is live, and left alone.
  await queue.remove(jobId);
  return (await queue.getJob(jobId)) === undefined;
}
