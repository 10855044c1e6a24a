import { readinessReport } from './process-readiness';

describe('readinessReport', () => {
  it('is ready when every service started and every check passed', () => {
    const report = readinessReport(
      [],
      [
        { service: 'scanner', dependency: 'mongo' },
        { service: 'scanner', dependency: 'redis' },
      ],
      false,
    );
    expect(report).toEqual({
      ready: true,
      body: { status: 'ready', mongo: 'ok', redis: 'ok', servicesStarting: [] },
    });
  });

  it('names the dependency that failed, for any one service', () => {
    const report = readinessReport(
      [],
      [
        { service: 'scanner', dependency: 'redis' },
        { service: 'signer', dependency: 'redis', error: new Error('redis://:secret@host refused') },
        { service: 'signer', dependency: 'mongo' },
      ],
      false,
    );
    expect(report.ready).toBe(false);
    expect(report.body).toEqual({
      status: 'not_ready',
      mongo: 'ok',
      redis: 'unavailable',
      servicesStarting: [],
    });
    expect(JSON.stringify(report.body)).not.toContain('secret');
  });

  it('is not ready while a service is starting or the process is stopping', () => {
    expect(readinessReport(['egress'], [], false).body).toMatchObject({
      status: 'not_ready',
      servicesStarting: ['egress'],
    });
    expect(readinessReport([], [], true).body).toMatchObject({ status: 'not_ready', stopping: true });
  });
});
