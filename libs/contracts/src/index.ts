export * from './ids';
export * from './queues';
export * from './events';
export * from './message-state';
