export {
  EXECUTION_PROVIDERS,
  type ExecutionProvider,
  ExecutionProvidersSchema,
  GRAPH_OPTIMIZATION_LEVELS,
  parseExecutionProviders,
  providerFallbackChain,
  type RuntimeConfig,
} from './config.ts';
export { createIdleCache, type IdleCache, type IdleCacheOptions } from './idle-cache.ts';
export { type Feeds, type ModelSession, type Outputs, wrapSession } from './model-session.ts';
export {
  type CreateSession,
  createOrtSession,
  createSessionRegistry,
  type ModelState,
  type RuntimeLogger,
  type SessionRegistry,
  type SessionRegistryDeps,
} from './session-registry.ts';
