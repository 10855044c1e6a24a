import type { RelayConfig } from '@ser/config';
import { requireSetting } from '@ser/config';
import type { Logger } from '@ser/logger';
import { isDeliverableAddress } from '@ser/mail';
import { CONFIG, LOGGER } from '@ser/runtime';
import { Inject, Injectable } from '@nestjs/common';
import type { OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import type {
  SMTPServerAddress,
  SMTPServerAuthentication,
  SMTPServerDataStream,
  SMTPServerSession,
} from 'smtp-server';
import { AcceptMessageUseCase } from './accept-message.use-case';
import type { AuthenticatedApp } from './authenticate.use-case';
import { AuthenticateUseCase } from './authenticate.use-case';
import { replies } from './smtp-reply';

type Done = (error?: Error | null) => void;

/** The two submission listeners: STARTTLS (587) and implicit TLS (465), RFC 8314. */
@Injectable()
export class SmtpListenerService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly servers: SMTPServer[] = [];
  private readonly ports: number[] = [];

  constructor(
    @Inject(CONFIG) private readonly config: RelayConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly authenticate: AuthenticateUseCase,
    private readonly accept: AcceptMessageUseCase,
  ) {}

  /** Bound ports (submission, submissions): useful when configured as 0. */
  get boundPorts(): readonly number[] {
    return this.ports;
  }

  async onApplicationBootstrap(): Promise<void> {
    const key = readFileSync(requireSetting(this.config.SER_TLS_KEY_FILE, 'SER_TLS_KEY_FILE', 'ingress'));
    const cert = readFileSync(requireSetting(this.config.SER_TLS_CERT_FILE, 'SER_TLS_CERT_FILE', 'ingress'));
    for (const [secure, port] of [
      [false, this.config.SER_INGRESS_SUBMISSION_PORT],
      [true, this.config.SER_INGRESS_SUBMISSIONS_PORT],
    ] as const) {
      const server = this.createServer(secure, key, cert);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, this.config.SER_INGRESS_HOST, () => resolve());
      });
      server.on('error', (err) => this.logger.warn({ code: 'INGRESS_SMTP_ERROR', err }, 'smtp server error'));
      this.servers.push(server);
      this.ports.push((server.server.address() as AddressInfo).port);
    }
    this.logger.info({ code: 'INGRESS_LISTENING', ports: this.ports }, 'smtp listeners ready');
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all(this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }

  private createServer(secure: boolean, key: Buffer, cert: Buffer): SMTPServer {
    return new SMTPServer({
      secure,
      key,
      cert,
      minVersion: 'TLSv1.2',
      name: this.config.SER_HOSTNAME,
      banner: 'Secure Email Relay',
      size: this.config.SER_INGRESS_MAX_MESSAGE_BYTES,
      authMethods: ['PLAIN', 'LOGIN'],
      // AUTH only inside TLS (RFC 8314); smtp-server answers 538 to AUTH before STARTTLS.
      allowInsecureAuth: false,
      authOptional: false,
      useXClient: false,
      useXForward: false,
      useProxy: false,
      logger: false,
      onAuth: (auth, session, done) => void this.onAuth(auth, session, done),
      onMailFrom: (address, session, done) => this.onMailFrom(address, session, done),
      onRcptTo: (address, session, done) => this.onRcptTo(address, session, done),
      onData: (stream, session, done) => void this.onData(stream, session, done),
    });
  }

  private async onAuth(
    auth: SMTPServerAuthentication,
    session: SMTPServerSession,
    done: (error: Error | null | undefined, response?: { user: AuthenticatedApp }) => void,
  ): Promise<void> {
    try {
      const outcome = await this.authenticate.execute(
        auth.username ?? '',
        auth.password ?? '',
        session.remoteAddress,
      );
      if (outcome.ok) {
        done(null, { user: outcome.app });
      } else {
        done(replies.authFailed());
      }
    } catch (error) {
      this.logger.error({ code: 'INGRESS_AUTH_UNAVAILABLE', err: error }, 'authentication backend failed');
      done(replies.authUnavailable(error));
    }
  }

  private onMailFrom(address: SMTPServerAddress, _session: SMTPServerSession, done: Done): void {
    if (address.address === '') {
      done(replies.nullSender());
    } else if (!isDeliverableAddress(address.address)) {
      done(replies.badAddress('The sender'));
    } else {
      done();
    }
  }

  private onRcptTo(address: SMTPServerAddress, session: SMTPServerSession, done: Done): void {
    if (!isDeliverableAddress(address.address)) {
      done(replies.badAddress('The recipient'));
    } else if (session.envelope.rcptTo.length >= this.config.SER_INGRESS_MAX_RECIPIENTS) {
      done(replies.tooManyRecipients(this.config.SER_INGRESS_MAX_RECIPIENTS));
    } else {
      done();
    }
  }

  private async onData(
    stream: SMTPServerDataStream,
    session: SMTPServerSession,
    done: (error?: Error | null, message?: string) => void,
  ): Promise<void> {
    const app = session.user as unknown as AuthenticatedApp;
    try {
      const messageId = await this.accept.execute(stream, {
        app,
        mailFrom: session.envelope.mailFrom === false ? '' : session.envelope.mailFrom.address,
        rcptTo: session.envelope.rcptTo.map((r) => r.address),
        clientIp: session.remoteAddress,
        tls: session.secure,
      });
      this.logger.info(
        { code: 'INGRESS_MESSAGE_ACCEPTED', messageId, tenantId: app.tenantId, appId: app.appId },
        'accepted',
      );
      done(null, `2.0.0 Ok: queued as ${messageId}`);
    } catch (error) {
      // Drain what is left so the reply comes after the client's final dot (RFC 5321 §4.1.1.4).
      stream.resume();
      await new Promise((resolve) =>
        stream.readableEnded ? resolve(undefined) : stream.once('end', resolve),
      );
      this.logger.warn(
        { code: 'INGRESS_MESSAGE_REFUSED', tenantId: app.tenantId, err: error },
        'message refused',
      );
      done(error as Error);
    }
  }
}
