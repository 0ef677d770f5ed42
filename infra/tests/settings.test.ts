import { isPhotoEnhanceError } from '@photoenhance/contracts';
import { describe, expect, it } from 'vitest';
import { readDeploymentSettings } from '../src/settings.ts';

const fromContext = (context: Record<string, unknown>) => () => readDeploymentSettings((key) => context[key]);

describe('deployment settings from CDK context', () => {
  it('has defaults for an empty context', () => {
    const settings = fromContext({})();
    expect(settings).toMatchObject({
      retentionHours: 24,
      maxReceiveCount: 3,
      visibilityTimeoutSeconds: 300,
      minWorkers: 0,
    });
    expect(settings.corsOrigins).toEqual(['*']);
    expect(settings.certificateArn).toBeUndefined();
  });

  it('reads `-c key=value` strings and cdk.json values alike', () => {
    const settings = fromContext({
      maxWorkers: '12',
      retentionHours: '0.5',
      corsOrigins: ' https://a.example ,https://b.example,',
      gpuInstanceType: 'g6.2xlarge',
      apiCpu: '2048',
    })();
    expect(settings.maxWorkers).toBe(12);
    expect(settings.retentionHours).toBe(0.5);
    expect(settings.corsOrigins).toEqual(['https://a.example', 'https://b.example']);
    expect(settings.gpuInstanceType).toBe('g6.2xlarge');
    expect(settings.apiCpu).toBe(2048);
  });

  it('refuses bad values with a typed error naming every bad setting', () => {
    let caught: unknown;
    try {
      fromContext({
        gpuInstanceType: 'm5.large',
        maxWorkers: '2',
        minWorkers: '3',
        apiCpu: '300',
        retentionHours: 'soon',
      })();
    } catch (err) {
      caught = err;
    }
    expect(isPhotoEnhanceError(caught)).toBe(true);
    const error = caught as Error & { code: string; details: { settings: string[] } };
    expect(error.code).toBe('INVALID_OPTIONS');
    expect(error.details.settings).toEqual(expect.arrayContaining(['gpuInstanceType', 'apiCpu', 'retentionHours']));
    expect(error.message).toContain('gpuInstanceType');
  });

  it('refuses fewer maximum than minimum workers', () => {
    expect(fromContext({ minWorkers: '3', maxWorkers: '2' })).toThrow(/maxWorkers/);
  });
});
