// Video helpers on top of the frame interface: face tracking and landmark smoothing across frames.

export * from './face-smoother.ts';
export * from './face-tracker.ts';
export * from './one-euro.ts';
