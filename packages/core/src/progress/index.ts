export * from './task-changes.ts';
