/** What the global setup hands every test file through vitest's `inject`. */
declare module 'vitest' {
  export interface ProvidedContext {
    testDatabaseServerUrl: string;
    testRedisUrl: string;
    /** Migrated once per run; each test file clones it. */
    testTemplateDatabase: string;
    /** Every database a file creates in this run starts with this, so teardown can find them. */
    testDatabasePrefix: string;
  }
}

export {};
