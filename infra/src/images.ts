import { fileURLToPath } from 'node:url';
import { aws_ecr_assets as ecrAssets, aws_ecs as ecs } from 'aws-cdk-lib';
import type { DeploymentSettings } from './settings.ts';

export interface ServiceImages {
  api: ecs.ContainerImage;
  worker: ecs.ContainerImage;
}

/** The repository root: the Docker build context of both images (see .dockerignore). */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Prebuilt images when the settings name them (`-c apiImage=….dkr.ecr….amazonaws.com/photoenhance/api:1.2.0`),
 * otherwise assets that `cdk deploy` builds from infra/docker/*.Dockerfile and pushes to the bootstrap ECR
 * repository. GPU instances are x86_64, and so is the API (same image arch as CI builds).
 */
export function serviceImages(settings: Pick<DeploymentSettings, 'apiImage' | 'workerImage'>): ServiceImages {
  const fromDockerfile = (file: string) =>
    ecs.ContainerImage.fromAsset(REPO_ROOT, { file, platform: ecrAssets.Platform.LINUX_AMD64 });
  return {
    api: settings.apiImage
      ? ecs.ContainerImage.fromRegistry(settings.apiImage)
      : fromDockerfile('infra/docker/api.Dockerfile'),
    worker: settings.workerImage
      ? ecs.ContainerImage.fromRegistry(settings.workerImage)
      : fromDockerfile('infra/docker/gpu-worker.Dockerfile'),
  };
}
