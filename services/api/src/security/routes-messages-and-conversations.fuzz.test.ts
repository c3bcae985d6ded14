import { fuzzRouteFamily } from '../test-support/route-fuzz-suite.ts';

// Property-based fuzzing (see fuzzRouteFamily); FUZZ_RUNS sets the generated requests a route.
fuzzRouteFamily('messages-and-conversations');
