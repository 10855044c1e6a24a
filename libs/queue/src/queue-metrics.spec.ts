import { register } from 'prom-client';
import {
  CORE_METRICS,
  eventReasonLabel,
  eventsMetric,
  stageDurationMetric,
  waitingSince,
} from './queue-metrics';

describe('eventReasonLabel', () => {
  it('keeps a reason code, lower-cased', () => {
    expect(eventReasonLabel({ reason: 'wrong_secret' })).toBe('wrong_secret');
    expect(eventReasonLabel({ reason: 'Hard_Bounce' })).toBe('hard_bounce');
  });

  it('keeps the code before the details of a reason', () => {
    expect(eventReasonLabel({ reason: 'virus: Eicar-Signature' })).toBe('virus');
  });

  it('is empty without a string reason', () => {
    expect(eventReasonLabel({})).toBe('');
    expect(eventReasonLabel({ reason: 42 })).toBe('');
    expect(eventReasonLabel({ reason: '' })).toBe('');
    expect(eventReasonLabel(undefined)).toBe('');
  });

  it('turns free text into `other`, so a label never takes unbounded values', () => {
    expect(eventReasonLabel({ reason: '550 5.1.1 user unknown' })).toBe('other');
    expect(eventReasonLabel({ reason: `a${'b'.repeat(100)}` })).toBe('other');
  });
});

describe('waitingSince', () => {
  it('is the creation time plus the delay for a job that never ran', () => {
    expect(waitingSince({ timestamp: 1000, delay: 500 })).toBe(1500);
    expect(waitingSince({ timestamp: 1000, processedOn: 0 })).toBe(1000);
  });

  it('is the last start plus the back-off for a retried job', () => {
    expect(waitingSince({ timestamp: 1000, processedOn: 50_000, delay: 2000 })).toBe(52_000);
  });
});

describe('core metrics', () => {
  it('are registered once, however often they are asked for', () => {
    expect(stageDurationMetric()).toBe(stageDurationMetric());
    expect(eventsMetric()).toBe(eventsMetric());
    expect(register.getSingleMetric(CORE_METRICS.stageDuration)).toBeDefined();
    expect(register.getSingleMetric(CORE_METRICS.events)).toBeDefined();
  });
});
