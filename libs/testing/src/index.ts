// Real-network helpers for integration and e2e tests: nothing here is a mock.
export { startDnsServer } from './dns/dns-server';
export type { DnsServerOptions, TestDnsServer } from './dns/dns-server';
export { createTestResolver } from './dns/test-resolver';
export type { TestResolverOptions } from './dns/test-resolver';
export type { DnsQueryLogEntry, DnsTransport } from './dns/dns-responder';
export { toCharacterStrings } from './dns/dns-zone';
export type { DnsRecordData, DnsRecordOptions, DnsRecordType, MxRecord, TxtRecord } from './dns/dns-zone';
export { startSmtpSink } from './smtp-sink';
export type {
  DataReplyFn,
  RcptReplyFn,
  ReceivedMessage,
  SinkDelays,
  SmtpRejection,
  SmtpReply,
  SmtpSink,
  SmtpSinkOptions,
} from './smtp-sink';
export { waitFor, WaitForTimeoutError } from './wait-for';
export type { WaitForOptions } from './wait-for';
export { freePort } from './free-port';
export { uniqueName } from './unique-name';
export { generateSelfSignedCert } from './self-signed-cert';
export type { SelfSignedCert, SelfSignedCertOptions } from './self-signed-cert';
export { relayTestConfig } from './relay-test-config';
export type { RelayTestConfig } from './relay-test-config';
export { connectTestDatabase } from './test-database';
export { startTcpProxy, type TcpProxy } from './tcp-proxy';
export { EICAR, GTUBE, zipArchive, testMail } from './test-mail';
export type { TestAttachment, TestMailOptions } from './test-mail';
export { verifyWithDkimpy } from './dkimpy';
export type { DkimpyResult } from './dkimpy';
export { counterValue, metricDeltas } from './metric-deltas';
export type { MetricSeries } from './metric-deltas';
