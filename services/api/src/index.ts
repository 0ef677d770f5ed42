export { createApp } from './app.ts';
export { createTenantDirectory, ownerIdForKey } from './auth/tenants.ts';
export { type ApiConfig, ApiEnvSchema, loadApiConfig, pageOrigins, resolveDownloadMode } from './config.ts';
export type { AppDeps, AppEnv } from './http/env.ts';
export { createLogger } from './logger.ts';
export { type ApiMetrics, createApiMetrics } from './metrics.ts';
export { type RunningApi, startApiServer } from './server.ts';
export { type ActiveTaskQuota, createActiveTaskQuota } from './tasks/active-quota.ts';
