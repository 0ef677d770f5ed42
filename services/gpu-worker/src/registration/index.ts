export * from './address-discovery.ts';
export * from './gpu-info.ts';
export * from './registrar.ts';
export * from './seed-gateway.ts';
export * from './setup.ts';
