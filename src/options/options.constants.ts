/** Injection token of the checked options with their defaults (`ResolvedShardingOptions`). */
export const RESOLVED_SHARDING_OPTIONS = Symbol('nestjs-sharding:resolved-options');

/** Where the status page listens unless `statusPage.host` says otherwise: this machine only. */
export const DEFAULT_STATUS_PAGE_HOST = '127.0.0.1';
