export * from './datatypes';
export * from './half-float';
export * from './bytes-elements';
export * from './raw-tensor-data';
export * from './json-tensor-data';
export * from './binary-body';
export * from './inference-wire';
