export { createRedis } from './redis-connection';
export { JOB_CATALOG } from './job-catalog';
export type { JobPayloads, CatalogEntry } from './job-catalog';
export { QueueBus, InvalidJobError } from './queue-bus';
export { startJobWorker, UnrecoverableError, RetryLaterError, retryDelay } from './job-worker';
export type { JobContext, JobHandler, RunningWorker, WorkerOptions } from './job-worker';
export { EventPublisher } from './event-publisher';
export { ACCEPTANCE_VERDICT_TTL_S, AcceptanceVerdicts, acceptanceVerdictKey } from './acceptance-verdict';
export type { AcceptanceVerdict } from './acceptance-verdict';
export {
  CORE_METRICS,
  QUEUE_JOB_STATES,
  counterMetric,
  eventReasonLabel,
  eventsMetric,
  stageDurationMetric,
  waitingSince,
  watchQueueMetrics,
} from './queue-metrics';
