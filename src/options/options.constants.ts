/** Injection token of the checked options with their defaults (`ResolvedShardingOptions`). */
export const RESOLVED_SHARDING_OPTIONS = Symbol('nestjs-sharding:resolved-options');
