export type { CliDeps } from './cli-deps.ts';
export type { OutputStream } from './output.ts';
export { createProgram, runProgram } from './program.ts';
export { seedDemo, seedDemoResultSchema, type SeedDemoResult } from './seed-demo.ts';
