export * from './scheduler-types';
export { createScheduler } from './create-scheduler';
export { systemClock, type Clock } from './clock';
export { BatchFormer, type BatchDecision, type FormerRequest } from './batch-former';
export * from './sequence-types';
export { SequenceSlots } from './sequence-slots';
