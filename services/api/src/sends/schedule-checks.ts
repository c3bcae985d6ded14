import type { Config } from '@outbound/config';
import { type InputIssue, validationFailed } from '../routing/validate-input.ts';
import type { SendRequest } from '../routes/sends.schema.ts';

/**
 * How far in the past `first_run_at_ms` may be: a client computing "now" with a slightly slow
 * clock, or a request that queued briefly, still schedules (and fires at once).
 */
export const FIRST_RUN_PAST_TOLERANCE_MS = 5_000;

/** 9999-12-31T23:59:59.999Z: no occurrence may fall later, so every slot is a valid date. */
export const LATEST_OCCURRENCE_MS = 253_402_300_799_999;

export type ScheduleBoundsConfig = Pick<
  Config,
  'SCHEDULE_MIN_INTERVAL_MS' | 'SCHEDULE_MAX_INTERVAL_MS' | 'SCHEDULE_MAX_OCCURRENCES'
>;

/** A requested schedule, checked, with its defaults applied. */
export interface ScheduleRequest {
  firstRunAt: Date;
  /** `null`: a one-shot scheduled send. */
  intervalMs: number | null;
  maxOccurrences: number;
}

type ScheduleBody = NonNullable<SendRequest['schedule']>;

/**
 * The configured bounds: `interval_ms` within [SCHEDULE_MIN_INTERVAL_MS,
 * SCHEDULE_MAX_INTERVAL_MS], `max_occurrences` at most SCHEDULE_MAX_OCCURRENCES (1 when omitted),
 * and above 1 only with an interval. Throws 400 `validation_failed` naming every bad field.
 */
export function checkScheduleBounds(
  schedule: ScheduleBody,
  config: ScheduleBoundsConfig,
): ScheduleRequest {
  const issues: InputIssue[] = [];
  const interval = schedule.interval_ms;
  const maxOccurrences = schedule.max_occurrences ?? 1;
  if (
    interval !== undefined &&
    (interval < config.SCHEDULE_MIN_INTERVAL_MS || interval > config.SCHEDULE_MAX_INTERVAL_MS)
  ) {
    issues.push(
      issue(
        'interval_ms',
        'out_of_range',
        `interval_ms must be between ${config.SCHEDULE_MIN_INTERVAL_MS} and ` +
          `${config.SCHEDULE_MAX_INTERVAL_MS}; got ${interval}`,
      ),
    );
  }
  if (maxOccurrences > config.SCHEDULE_MAX_OCCURRENCES) {
    issues.push(
      issue(
        'max_occurrences',
        'too_big',
        `max_occurrences is at most ${config.SCHEDULE_MAX_OCCURRENCES}; got ${maxOccurrences}`,
      ),
    );
  }
  if (interval === undefined && maxOccurrences > 1) {
    issues.push(
      issue(
        'max_occurrences',
        'needs_interval',
        'max_occurrences above 1 needs interval_ms; without it the send is scheduled once',
      ),
    );
  }
  const lastOccurrence = schedule.first_run_at_ms + (maxOccurrences - 1) * (interval ?? 0);
  if (lastOccurrence > LATEST_OCCURRENCE_MS) {
    issues.push(
      issue(
        'first_run_at_ms',
        'too_late',
        `the last occurrence would fall after 9999-12-31 (${LATEST_OCCURRENCE_MS} ms)`,
      ),
    );
  }
  if (issues.length > 0) throw validationFailed(issues);
  return {
    firstRunAt: new Date(schedule.first_run_at_ms),
    intervalMs: interval ?? null,
    maxOccurrences,
  };
}

/**
 * `first_run_at_ms` may not lie more than `FIRST_RUN_PAST_TOLERANCE_MS` before `now`. Checked
 * only for a new request: the replay of an accepted one answers as first answered.
 */
export function checkFirstRunNotPast(schedule: ScheduleRequest, now: number): void {
  const earliest = now - FIRST_RUN_PAST_TOLERANCE_MS;
  if (schedule.firstRunAt.getTime() < earliest) {
    throw validationFailed([
      issue(
        'first_run_at_ms',
        'in_the_past',
        `first_run_at_ms is ${now - schedule.firstRunAt.getTime()} ms in the past; it may be ` +
          `at most ${FIRST_RUN_PAST_TOLERANCE_MS} ms before now (${now})`,
      ),
    ]);
  }
}

function issue(field: string, code: string, message: string): InputIssue {
  return { location: 'body', path: `schedule.${field}`, code, message };
}
