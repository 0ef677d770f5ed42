import { PhotoEnhanceError } from '@photoenhance/contracts';
import { describe, expect, it } from 'vitest';
import { decideStackMode } from './backend-mode.ts';

describe('decideStackMode', () => {
  it('runs the containers when a Docker engine answers and nothing else is named', () => {
    expect(decideStackMode({}, true).mode).toBe('containers');
  });

  it('runs embedded fauxqs without Docker and without endpoints', () => {
    expect(decideStackMode({}, false).mode).toBe('embedded');
  });

  it('runs external when the environment names an endpoint, Docker or not, and says which', () => {
    for (const name of ['S3_ENDPOINT', 'SQS_ENDPOINT', 'SQS_QUEUE_URL']) {
      const decision = decideStackMode({ [name]: 'http://127.0.0.1:9000' }, true);
      expect(decision.mode).toBe('external');
      expect(decision.reason).toContain(name);
      expect(decideStackMode({ [name]: 'http://127.0.0.1:9000' }, false).mode).toBe('external');
    }
  });

  it('treats empty variables as unset', () => {
    expect(decideStackMode({ S3_ENDPOINT: '', PHOTOENHANCE_TEST_BACKEND: ' ' }, true).mode).toBe('containers');
  });

  it('lets PHOTOENHANCE_TEST_BACKEND force any mode over endpoints and the probe', () => {
    const endpoints = { S3_ENDPOINT: 'http://127.0.0.1:9000', SQS_ENDPOINT: 'http://127.0.0.1:9324' };
    expect(decideStackMode({ ...endpoints, PHOTOENHANCE_TEST_BACKEND: 'embedded' }, true).mode).toBe('embedded');
    expect(decideStackMode({ ...endpoints, PHOTOENHANCE_TEST_BACKEND: 'containers' }, false).mode).toBe('containers');
    expect(decideStackMode({ PHOTOENHANCE_TEST_BACKEND: 'external' }, true).mode).toBe('external');
    expect(decideStackMode({ PHOTOENHANCE_TEST_BACKEND: 'embedded' }, true).reason).toContain(
      'PHOTOENHANCE_TEST_BACKEND',
    );
  });

  it('refuses an unknown PHOTOENHANCE_TEST_BACKEND, naming the variable and the value', () => {
    let thrown: unknown;
    try {
      decideStackMode({ PHOTOENHANCE_TEST_BACKEND: 'docker' }, true);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(PhotoEnhanceError);
    expect((thrown as PhotoEnhanceError).code).toBe('INVALID_OPTIONS');
    expect((thrown as PhotoEnhanceError).message).toMatch(/PHOTOENHANCE_TEST_BACKEND.*"docker"/);
  });
});
