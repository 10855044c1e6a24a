import type { RelayConfig } from '@ser/config';
import { requireSetting } from '@ser/config';
import type { Logger } from '@ser/logger';
import { CONFIG, LOGGER } from '@ser/runtime';
import { Inject, Injectable } from '@nestjs/common';
import type { OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SMTPServerOptions } from 'smtp-server';
import { IngressMetrics } from '../metrics/ingress-metrics';
import { IngressEvents } from './ingress-events';
import { RelaySmtpServer } from './relay-smtp-server';
import { SessionRegistry } from './session-registry';
import { SubmissionHandlers } from './submission-handlers';
import { readTlsPair } from './tls-material';
import type { TlsFiles, TlsPair } from './tls-material';

/** RFC 5321 §4.5.3.1.4 allows 512 octets; RFC 4954 §4 lets AUTH initial responses be longer. */
const MAX_COMMAND_OCTETS = 4096;

/** The two submission listeners: STARTTLS (587) and implicit TLS (465), RFC 8314. */
@Injectable()
export class SmtpListenerService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly servers: RelaySmtpServer[] = [];
  private readonly ports: number[] = [];
  private tls: TlsPair | undefined;
  private tlsFiles: TlsFiles | undefined;
  private reloadTimer: NodeJS.Timeout | undefined;
  private readonly onSighup = (): void => this.reloadTls('SIGHUP');

  constructor(
    @Inject(CONFIG) private readonly config: RelayConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly handlers: SubmissionHandlers,
    private readonly registry: SessionRegistry,
    private readonly events: IngressEvents,
    private readonly metrics: IngressMetrics,
  ) {}

  /** Bound ports (submission, submissions): useful when configured as 0. */
  get boundPorts(): readonly number[] {
    return this.ports;
  }

  async onApplicationBootstrap(): Promise<void> {
    this.tlsFiles = {
      keyFile: requireSetting(this.config.SER_TLS_KEY_FILE, 'SER_TLS_KEY_FILE', 'ingress'),
      certFile: requireSetting(this.config.SER_TLS_CERT_FILE, 'SER_TLS_CERT_FILE', 'ingress'),
    };
    this.tls = readTlsPair(this.tlsFiles);
    for (const [listener, secure, port] of [
      ['submission', false, this.config.SER_INGRESS_SUBMISSION_PORT],
      ['submissions', true, this.config.SER_INGRESS_SUBMISSIONS_PORT],
    ] as const) {
      const server = new RelaySmtpServer(
        this.options(secure, this.tls),
        this.registry,
        listener,
        this.metrics,
      );
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, this.config.SER_INGRESS_HOST, () => resolve());
      });
      server.on('error', (err) => this.logger.warn({ code: 'INGRESS_SMTP_ERROR', err }, 'smtp server error'));
      this.servers.push(server);
      this.ports.push((server.server.address() as AddressInfo).port);
    }
    this.reloadTimer = setInterval(
      () => this.reloadTls('file change'),
      this.config.SER_TLS_RELOAD_INTERVAL_MS,
    );
    this.reloadTimer.unref();
    process.on('SIGHUP', this.onSighup);
    this.logger.info({ code: 'INGRESS_LISTENING', ports: this.ports }, 'smtp listeners ready');
  }

  /**
   * Kubernetes-friendly stop: no new connections; idle sessions get `421 4.3.2` now; a message in
   * DATA may finish (up to SER_INGRESS_DRAIN_TIMEOUT_MS) and gets its reply before its session is
   * closed.
   */
  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.reloadTimer);
    process.off('SIGHUP', this.onSighup);
    const closed = Promise.all(
      this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))),
    );
    const deadline = Date.now() + this.config.SER_INGRESS_DRAIN_TIMEOUT_MS;
    for (;;) {
      for (const state of this.registry.all()) {
        if (!state.inData || Date.now() >= deadline) {
          state.connection.send(421, '4.3.2 Service shutting down, try again later');
        }
      }
      if (this.registry.all().length === 0 || Date.now() >= deadline) {
        break;
      }
      await sleep(50);
    }
    await closed;
    await this.events.flush();
  }

  /** Loads a replaced key and certificate for new connections; open sessions keep theirs. */
  reloadTls(trigger: string): void {
    if (this.tlsFiles === undefined) {
      return;
    }
    try {
      const next = readTlsPair(this.tlsFiles);
      if (next.digest === this.tls?.digest) {
        return;
      }
      for (const server of this.servers) {
        server.updateSecureContext({ key: next.key, cert: next.cert });
      }
      this.tls = next;
      this.logger.info({ code: 'INGRESS_TLS_RELOADED', trigger }, 'tls certificate reloaded');
    } catch (err) {
      this.logger.error({ code: 'INGRESS_TLS_RELOAD_FAILED', trigger, err }, 'tls certificate not reloaded');
    }
  }

  private options(secure: boolean, tls: TlsPair): SMTPServerOptions {
    const proxies = this.config.SER_INGRESS_PROXY_TRUSTED;
    const handlers = this.handlers;
    return {
      secure,
      key: tls.key,
      cert: tls.cert,
      minVersion: 'TLSv1.2',
      name: this.config.SER_HOSTNAME,
      banner: 'Secure Email Relay',
      size: this.config.SER_INGRESS_MAX_MESSAGE_BYTES,
      authMethods: ['PLAIN', 'LOGIN'],
      // AUTH only inside TLS (RFC 8314); the reply policy also hides it from EHLO before STARTTLS.
      allowInsecureAuth: false,
      authOptional: false,
      hideENHANCEDSTATUSCODES: false,
      useXClient: false,
      useXForward: false,
      // The PROXY protocol header is honoured only from the listed load balancers.
      useProxy: proxies.length > 0 ? proxies : false,
      maxClients: this.config.SER_INGRESS_MAX_CONNECTIONS,
      maxCommandLength: MAX_COMMAND_OCTETS,
      socketTimeout: this.config.SER_INGRESS_IDLE_TIMEOUT_MS,
      closeTimeout: this.config.SER_INGRESS_DRAIN_TIMEOUT_MS + 1000,
      disableReverseLookup: true,
      logger: false,
      onConnect: (session, done) => handlers.onConnect(session, done),
      onClose: (session) => handlers.onClose(session),
      onAuth: (auth, session, done) => handlers.onAuth(auth, session, done),
      onMailFrom: (address, session, done) => handlers.onMailFrom(address, session, done),
      onRcptTo: (address, session, done) => handlers.onRcptTo(address, session, done),
      onData: (stream, session, done) => handlers.onData(stream, session, done),
    };
  }
}
