import type { RelayConfig, TlsPolicyName } from '@ser/config';
import type { MessageDocument, SmarthostRoute, TenantDocument } from '@ser/data';
import { smarthostPasswordAad } from '@ser/data';
import type { MessageStore } from '@ser/mongo';
import { CONFIG, MESSAGE_STORE } from '@ser/runtime';
import { SecretBox } from '@ser/security';
import { Inject, Injectable } from '@nestjs/common';
import { isIP } from 'node:net';
import { domainToASCII } from 'node:url';
import { PassThrough } from 'node:stream';
import type { Readable } from 'node:stream';
import { DnsClient, DnsTemporaryError } from '../dns/dns-client';
import { MxResolver } from '../dns/mx-resolver';
import type { MxHost } from '../dns/mx-resolver';
import { mxMatches } from '../mta-sts/mta-sts-policy';
import { EgressMetrics, replyClassOf } from '../metrics/egress-metrics';
import { MtaStsResolver } from '../mta-sts/mta-sts-resolver';
import type { MtaStsPolicy } from '../mta-sts/mta-sts-resolver';
import { routeFor, sourceAddressFor, stricter, tlsPolicyFor } from '../routing/delivery-plan';
import { SmtpConnectionPool } from '../smtp/connection-pool';
import { inspectEightBit, needsSmtpUtf8 } from '../smtp/eight-bit';
import type { EightBitContent } from '../smtp/eight-bit';
import { SmtpSessionError } from '../smtp/smtp-session';
import type { SmtpSession } from '../smtp/smtp-session';
import type { Reply, SmtpEndpoint, TlsInfo, TransactionReplies } from '../smtp/smtp-session';
import type { SessionLease } from '../smtp/connection-pool';

/** What one connection attempt did; each becomes a `delivery.attempted` event. */
export interface ConnectionAttempt {
  /** When the connection attempt started (the event's time). */
  at: string;
  route: 'mx' | 'smarthost';
  host: string;
  ip: string;
  port: number;
  sourceAddress?: string;
  tlsPolicy: TlsPolicyName;
  tls: TlsInfo | null;
  mtaSts?: { mode: MtaStsPolicy['mode']; mxMatched: boolean; tlsAuthorized?: boolean };
  reused: boolean;
  /** Per recipient reply, or the one reply of a connection that failed before any transaction. */
  replies: { recipient?: string; code: number; text: string }[];
  ambiguous: boolean;
  durationMs: number;
}

export interface RecipientOutcome extends Reply {
  /** The host that gave the reply, for DSNs (`Remote-MTA`). */
  remoteMta?: string;
}

export type TransportOutcome =
  | { kind: 'capped'; host: string }
  | {
      kind: 'done';
      replies: Map<string, RecipientOutcome>;
      attempts: ConnectionAttempt[];
      /** The message may have been delivered although no reply said so. */
      ambiguous: boolean;
    };

interface Destination {
  route: 'mx' | 'smarthost';
  hosts: MxHost[];
  port: number;
  tls: TlsPolicyName;
  mtaSts?: MtaStsPolicy;
  auth?: { user: string; pass: string };
}

/**
 * Sends one message to the open recipients of one domain: finds the destination (a smarthost
 * route, else the MX hosts), applies the TLS policy and MTA-STS, and tries each host's addresses in
 * preference order until one gives replies.
 */
@Injectable()
export class DeliveryTransport {
  private secretBox: SecretBox | undefined;

  constructor(
    @Inject(CONFIG) private readonly config: RelayConfig,
    @Inject(MESSAGE_STORE) private readonly store: MessageStore,
    private readonly dns: DnsClient,
    private readonly mx: MxResolver,
    private readonly mtaSts: MtaStsResolver,
    private readonly pool: SmtpConnectionPool,
    private readonly metrics: EgressMetrics,
  ) {}

  async deliver(
    message: MessageDocument,
    tenant: TenantDocument | null,
    domain: string,
    recipients: string[],
  ): Promise<TransportOutcome> {
    const all = (reply: Reply): TransportOutcome => ({
      kind: 'done',
      replies: new Map(recipients.map((r) => [r, reply])),
      attempts: [],
      ambiguous: false,
    });
    let destination: Destination | Reply;
    try {
      destination = await this.destination(tenant, domain);
    } catch (error) {
      if (error instanceof DnsTemporaryError) {
        // No host to talk to: counted like a connection that got no reply.
        this.metrics.deliveryAttempted('connection', false);
        return all({ code: 451, text: `4.4.3 DNS lookup for ${domain} failed: ${error.message}` });
      }
      throw error;
    }
    if ('code' in destination) {
      return all(destination);
    }
    const pool =
      tenant?.sourceAddresses !== undefined && tenant.sourceAddresses.length > 0
        ? tenant.sourceAddresses
        : this.config.SER_EGRESS_SOURCE_ADDRESSES;
    let replies = new Map<string, RecipientOutcome>(
      recipients.map((r) => [r, { code: 451, text: `4.4.4 no reachable host for ${domain}` }]),
    );
    const attempts: ConnectionAttempt[] = [];
    const content: { value?: EightBitContent } = {};
    for (const host of destination.hosts) {
      for (const ip of host.addresses) {
        const source = sourceAddressFor(pool, ip, message._id);
        if (source === null) {
          continue;
        }
        const endpoint: SmtpEndpoint = {
          host: host.name,
          address: ip,
          port: destination.port,
          tls: destination.tls,
          ...(source === undefined ? {} : { localAddress: source }),
          ...(destination.auth === undefined ? {} : { auth: destination.auth }),
        };
        const outcome = await this.tryEndpoint(message, recipients, destination, endpoint, attempts, content);
        if (outcome.kind === 'capped') {
          if (attempts.length === 0) {
            return outcome;
          }
          continue;
        }
        replies = outcome.replies;
        // Replies from the server decide this attempt; a failed connection tries the next address,
        // unless the message may already have arrived (never send it to a second host).
        if (outcome.kind === 'decided') {
          return { kind: 'done', replies, attempts, ambiguous: outcome.ambiguous };
        }
      }
    }
    return { kind: 'done', replies, attempts, ambiguous: false };
  }

  /**
   * One address: a connection (pooled, or new; again in plain text when opportunistic STARTTLS
   * fails, and again on a new connection when a reused one turns out dead), then the transaction.
   */
  private async tryEndpoint(
    message: MessageDocument,
    recipients: string[],
    destination: Destination,
    first: SmtpEndpoint,
    attempts: ConnectionAttempt[],
    content: { value?: EightBitContent },
  ): Promise<
    | { kind: 'capped'; host: string }
    | { kind: 'failed'; replies: Map<string, RecipientOutcome> }
    | { kind: 'decided'; replies: Map<string, RecipientOutcome>; ambiguous: boolean }
  > {
    let endpoint = first;
    let retriedReused = false;
    for (;;) {
      const started = Date.now();
      const attempt = (fields: Partial<ConnectionAttempt>): ConnectionAttempt => ({
        at: new Date(started).toISOString(),
        route: destination.route,
        host: endpoint.host,
        ip: endpoint.address,
        port: endpoint.port,
        ...(endpoint.localAddress === undefined ? {} : { sourceAddress: endpoint.localAddress }),
        tlsPolicy: endpoint.tls,
        tls: null,
        reused: false,
        replies: [],
        ambiguous: false,
        durationMs: Date.now() - started,
        ...fields,
      });
      const all = (reply: Reply): Map<string, RecipientOutcome> =>
        new Map(recipients.map((r) => [r, { ...reply, remoteMta: endpoint.host }]));
      let lease: SessionLease | 'capped';
      try {
        lease = await this.pool.acquire(endpoint);
      } catch (error) {
        if (!(error instanceof SmtpSessionError)) {
          throw error;
        }
        attempts.push(attempt({ replies: [{ code: error.reply.code, text: error.reply.text }] }));
        this.metrics.deliveryAttempted(
          error.remoteCode === undefined ? 'connection' : replyClassOf([error.remoteCode]),
          false,
        );
        // Opportunistic TLS that fails its handshake falls back to plain text, as STARTTLS is optional.
        if (endpoint.tls === 'opportunistic' && error.reply.text.startsWith('4.7.5')) {
          endpoint = { ...endpoint, tls: 'none' };
          continue;
        }
        return { kind: 'failed', replies: all(error.reply) };
      }
      if (lease === 'capped') {
        return { kind: 'capped', host: endpoint.host };
      }
      const session = lease.session;
      const tls = session.tls ?? null;
      const mtaSts =
        destination.mtaSts === undefined
          ? undefined
          : {
              mode: destination.mtaSts.mode,
              mxMatched: mxMatches(destination.mtaSts.mx, endpoint.host),
              ...(tls === null ? {} : { tlsAuthorized: tls.authorized }),
            };
      const seen = { tls, ...(mtaSts === undefined ? {} : { mtaSts }), reused: lease.reused };
      let result: TransactionReplies;
      const wire = new Map(recipients.map((r) => [wireAddress(r), r]));
      try {
        const refusal = await this.refusal(message, recipients, session, content);
        if (refusal !== undefined) {
          void lease.release(true);
          attempts.push(attempt({ ...seen, replies: [refusal] }));
          this.metrics.deliveryAttempted(replyClassOf([refusal.code]), tls !== null);
          return { kind: 'decided', replies: all(refusal), ambiguous: false };
        }
        result = await session.send(
          {
            from: wireAddress(message.envelope.mailFrom),
            to: [...wire.keys()],
            // SIZE counts what is sent: the signature headers too.
            size: message.size + Buffer.byteLength(message.dkim?.headers ?? ''),
            eightBit: session.supports('8BITMIME'),
          },
          this.raw(message),
        );
      } catch (error) {
        // A slot must never stay taken: the lease goes back whatever failed.
        void lease.release(false);
        throw error;
      }
      // Not awaited: the RSET of a reused connection must not delay recording the replies.
      void lease.release(!result.ambiguous && !session.closed);
      attempts.push(
        attempt({
          ...seen,
          replies: [...result.recipients].map(([recipient, r]) => ({
            recipient,
            code: r.code,
            text: r.text,
          })),
          ambiguous: result.ambiguous,
        }),
      );
      this.metrics.deliveryAttempted(
        result.serverReplied
          ? replyClassOf([...result.recipients.values()].map((r) => r.code))
          : 'connection',
        tls !== null,
      );
      const replies = new Map(
        [...result.recipients].map(([r, reply]) => [
          wire.get(r) ?? r,
          { ...reply, remoteMta: endpoint.host },
        ]),
      );
      if (result.serverReplied || result.ambiguous) {
        return { kind: 'decided', replies, ambiguous: result.ambiguous };
      }
      // A pooled connection the server had closed meanwhile: once more on a new one.
      if (lease.reused && !retriedReused) {
        retriedReused = true;
        continue;
      }
      return { kind: 'failed', replies };
    }
  }

  /** A receiver that lacks an extension the message needs: the permanent reply, else undefined. */
  private async refusal(
    message: MessageDocument,
    recipients: string[],
    session: SmtpSession,
    content: { value?: EightBitContent },
  ): Promise<Reply | undefined> {
    if (session.supports('SMTPUTF8') && session.supports('8BITMIME')) {
      return undefined;
    }
    content.value ??= await inspectEightBit(this.store.open(message._id));
    return unsupported(session.supports('SMTPUTF8'), session.supports('8BITMIME'), content.value, [
      wireAddress(message.envelope.mailFrom),
      ...recipients.map(wireAddress),
    ]);
  }

  /** Where mail for the domain goes: the tenant's smarthost route, else the MX hosts; or a reply for all. */
  private async destination(tenant: TenantDocument | null, domain: string): Promise<Destination | Reply> {
    const route = routeFor(tenant?.routes, domain);
    if (route !== undefined) {
      return this.smarthost(tenant?._id ?? '', route);
    }
    const lookup = await this.mx.lookup(domain);
    if (lookup.kind === 'permanent') {
      return { code: 550, text: `${lookup.status} ${lookup.reason}` };
    }
    let tls = tlsPolicyFor(this.config.SER_EGRESS_TLS_POLICIES, domain);
    let hosts = lookup.hosts;
    const mtaSts = lookup.implicit ? undefined : await this.mtaSts.policyFor(domain);
    if (mtaSts?.mode === 'enforce') {
      // RFC 8461 §5: only MX hosts the policy names, and only over TLS with a valid certificate.
      hosts = hosts.filter((h) => mxMatches(mtaSts.mx, h.name));
      if (hosts.length === 0) {
        return { code: 451, text: `4.7.5 MTA-STS policy of ${domain} names none of its MX hosts` };
      }
      tls = stricter(tls, 'verify');
    }
    return {
      route: 'mx',
      hosts,
      port: this.config.SER_EGRESS_PORT,
      tls,
      ...(mtaSts === undefined ? {} : { mtaSts }),
    };
  }

  private async smarthost(tenantId: string, route: SmarthostRoute): Promise<Destination | Reply> {
    const addresses =
      isIP(route.host) !== 0
        ? [route.host]
        : [...(await this.dns.a(route.host)), ...(await this.dns.aaaa(route.host))];
    if (addresses.length === 0) {
      return { code: 451, text: `4.4.3 smarthost ${route.host} has no address` };
    }
    let auth: { user: string; pass: string } | undefined;
    if (route.auth !== undefined) {
      const box = this.box();
      if (box === undefined) {
        return { code: 451, text: '4.3.5 smarthost AUTH needs SER_MASTER_KEY on egress' };
      }
      auth = {
        user: route.auth.username,
        pass: box.open(
          route.auth.password,
          smarthostPasswordAad(tenantId, {
            host: route.host,
            port: route.port,
            username: route.auth.username,
          }),
        ),
      };
    }
    return {
      route: 'smarthost',
      hosts: [{ name: route.host, preference: 0, addresses }],
      port: route.port,
      // A password goes only to a server that proves who it is.
      tls: auth === undefined ? route.tls : stricter(route.tls, 'verify'),
      ...(auth === undefined ? {} : { auth }),
    };
  }

  private box(): SecretBox | undefined {
    if (this.secretBox === undefined && this.config.SER_MASTER_KEY !== undefined) {
      this.secretBox = new SecretBox(this.config.SER_MASTER_KEY, this.config.SER_MASTER_KEY_PREVIOUS);
    }
    return this.secretBox;
  }

  /** Signature headers followed by the stored body, streamed: the body is never copied. */
  private raw(message: MessageDocument): Readable {
    const out = new PassThrough();
    out.write(message.dkim?.headers ?? '');
    this.store
      .open(message._id)
      .on('error', (error) => out.destroy(error))
      .pipe(out);
    return out;
  }
}

/**
 * The address as sent: an internationalised domain as its A-label, so an ASCII local part needs no
 * SMTPUTF8 (RFC 6531 §3.2 leaves the choice to the client); a UTF-8 local part stays as it is.
 */
export function wireAddress(address: string): string {
  const at = address.lastIndexOf('@');
  if (at === -1 || !/[^\p{ASCII}]/u.test(address.slice(at + 1))) {
    return address;
  }
  const domain = domainToASCII(address.slice(at + 1));
  return domain === '' ? address : `${address.slice(0, at)}@${domain}`;
}

/**
 * A receiver without SMTPUTF8 cannot take UTF-8 addresses or headers, one without 8BITMIME an
 * 8-bit body: a clear permanent failure rather than a silent send (RFC 6531 §3.5, RFC 6152 §3).
 */
function unsupported(
  smtpUtf8: boolean,
  eightBitMime: boolean,
  content: EightBitContent,
  addresses: string[],
): Reply | undefined {
  if (!smtpUtf8 && (needsSmtpUtf8(addresses) || content.header)) {
    return {
      code: 553,
      text: '5.6.7 the receiving server does not support SMTPUTF8, which this message needs',
    };
  }
  if (!eightBitMime && content.body) {
    return {
      code: 554,
      text: '5.6.3 the receiving server does not support 8BITMIME, which this message needs',
    };
  }
  return undefined;
}
