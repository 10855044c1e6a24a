/** Injection tokens of the core providers every service gets from CoreModule. */
export const CONFIG = Symbol('CONFIG');
export const LOGGER = Symbol('LOGGER');
export const MONGO = Symbol('MONGO');
export const MESSAGE_STORE = Symbol('MESSAGE_STORE');
export const QUEUE_BUS = Symbol('QUEUE_BUS');
export const EVENTS = Symbol('EVENTS');
export const READINESS = Symbol('READINESS');
