export { grantApiAccess, grantWorkerAccess } from './access.ts';
export { API_PORT, ApiService, type ApiServiceProps } from './api-service.ts';
export { commonEnvironment } from './environment.ts';
export { REPO_ROOT, type ServiceImages, serviceImages } from './images.ts';
export { JobQueues } from './queues.ts';
export {
  type DeploymentSettings,
  DeploymentSettingsSchema,
  readDeploymentSettings,
  SETTING_NAMES,
} from './settings.ts';
export { PhotoEnhanceStack, type PhotoEnhanceStackProps } from './stack.ts';
export { createJobBucket, PREFIXES } from './storage.ts';
export { GpuWorkerService, type GpuWorkerServiceProps, WORKER_PORT } from './worker-service.ts';
