// The classification is shared with the dispatcher, which pauses instead of failing jobs.
export { isDependencyUnavailable } from '@outbound/db';
