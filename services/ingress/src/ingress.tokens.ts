/** The ingress's own Redis connection (abuse limits, sweep turns); producers fail fast. */
export const INGRESS_REDIS = Symbol('INGRESS_REDIS');
