import * as dnsPacket from 'dns-packet';
import type { DecodedPacket, OptAnswer, Packet, Question } from 'dns-packet';
import { normalizeName, type DnsRcode, type DnsZone } from './dns-zone';

export type DnsTransport = 'udp' | 'tcp';

export interface DnsQueryLogEntry {
  /** The queried name, lower-cased without trailing dot (resolvers may vary the case, RFC 4343). */
  name: string;
  /** The query type, e.g. `'TXT'`. */
  type: string;
  transport: DnsTransport;
  receivedAt: Date;
}

export interface ResponderConfig {
  zone: DnsZone;
  /** Largest UDP payload we agree to send to EDNS clients (RFC 6891 §6.2.5). */
  maxUdpPayload: number;
  onQuery: (entry: DnsQueryLogEntry) => void;
}

/** RFC 1035 §4.1.1 RCODE values (plus REFUSED). */
const RCODE: Record<DnsRcode | 'FORMERR' | 'NOTIMP' | 'REFUSED', number> = {
  NOERROR: 0,
  FORMERR: 1,
  SERVFAIL: 2,
  NXDOMAIN: 3,
  NOTIMP: 4,
  REFUSED: 5,
};
/** RFC 1035 §4.2.1: without EDNS a UDP message is limited to 512 octets. */
const CLASSIC_UDP_LIMIT = 512;
const OPCODE_QUERY = 0;
const MAX_TCP_MESSAGE = 0xffff;

/** What the answer stage needs to know about one decoded request. */
interface Exchange {
  request: DecodedPacket;
  /** The response skeleton: ID, echoed question, OPT when the client sent one. */
  base: Packet;
  transport: DnsTransport;
  /** Largest response this transport may carry. */
  sizeLimit: number;
}

/**
 * Builds the wire response for one wire query, or undefined when the datagram
 * must be ignored (a response, or garbage too short to carry an ID).
 */
export function respond(config: ResponderConfig, wire: Buffer, transport: DnsTransport): Buffer | undefined {
  let request: DecodedPacket;
  try {
    request = dnsPacket.decode(wire);
  } catch {
    return formatError(wire);
  }
  if (request.type === 'response') return undefined;
  const exchange = prepare(config, request, transport);
  const question = singleQuestion(request);
  const opcode = ((request.flags ?? 0) >> 11) & 0xf;
  if (opcode !== OPCODE_QUERY) return encode(exchange.base, flagsFor(request, 'NOTIMP'));
  if (!question) return encode(exchange.base, flagsFor(request, 'FORMERR'));
  config.onQuery({
    name: normalizeName(question.name),
    type: question.type,
    transport,
    receivedAt: new Date(),
  });
  if ((question.class ?? 'IN') !== 'IN') return encode(exchange.base, flagsFor(request, 'REFUSED'));
  try {
    return answer(config.zone, exchange, question);
  } catch {
    // A record the encoder rejects must surface as SERVFAIL, not as a client timeout.
    return encode(exchange.base, flagsFor(request, 'SERVFAIL'));
  }
}

function prepare(config: ResponderConfig, request: DecodedPacket, transport: DnsTransport): Exchange {
  const clientOpt = findOpt(request);
  const base: Packet = {
    id: request.id ?? 0,
    type: 'response',
    questions: request.questions ?? [],
    // RFC 6891 §7: a request with OPT gets an OPT back.
    additionals: clientOpt ? [serverOpt(config.maxUdpPayload)] : [],
  };
  // RFC 1035 §4.2.2: a TCP message length is a 16-bit field.
  const sizeLimit = transport === 'udp' ? udpLimit(clientOpt, config.maxUdpPayload) : MAX_TCP_MESSAGE;
  return { request, base, transport, sizeLimit };
}

function answer(
  zone: DnsZone,
  { request, base, transport, sizeLimit }: Exchange,
  question: Question,
): Buffer {
  const result = zone.lookup(question.name, question.type);
  const flags = flagsFor(request, result.rcode);
  const full = encode({ ...base, answers: result.answers }, flags);
  if (full.length <= sizeLimit) return full;
  if (transport === 'tcp') return encode(base, flagsFor(request, 'SERVFAIL'));
  // RFC 1035 §4.2.1 / RFC 2181 §9: set TC and drop the partial RRset; the client retries over TCP.
  return encode(base, flags | dnsPacket.TRUNCATED_RESPONSE);
}

/** RFC 1035 §4.2.2: every TCP message is prefixed with its two-octet length. */
export function frameForTcp(message: Buffer): Buffer {
  const length = Buffer.alloc(2);
  length.writeUInt16BE(message.length, 0);
  return Buffer.concat([length, message]);
}

/** RFC 9619: QDCOUNT other than one is a format error for a standard query. */
function singleQuestion(request: DecodedPacket): Question | undefined {
  const questions = request.questions ?? [];
  return questions.length === 1 ? questions[0] : undefined;
}

/** Authoritative (AA) for everything; RD is copied from the query as RFC 1035 §4.1.1 requires. */
function flagsFor(request: DecodedPacket, rcode: keyof typeof RCODE): number {
  const rd = request.flag_rd ? dnsPacket.RECURSION_DESIRED : 0;
  return dnsPacket.AUTHORITATIVE_ANSWER | rd | RCODE[rcode];
}

function encode(packet: Packet, flags: number): Buffer {
  return dnsPacket.encode({ ...packet, flags });
}

function findOpt(request: DecodedPacket): OptAnswer | undefined {
  for (const record of request.additionals ?? []) if (record.type === 'OPT') return record;
  return undefined;
}

function serverOpt(udpPayloadSize: number): OptAnswer {
  return {
    type: 'OPT',
    name: '.',
    udpPayloadSize,
    extendedRcode: 0,
    ednsVersion: 0,
    flags: 0,
    flag_do: false,
    options: [],
  };
}

/** RFC 6891 §6.2.5: honour the requestor's size, but never below 512 nor above our own limit. */
function udpLimit(clientOpt: OptAnswer | undefined, maxUdpPayload: number): number {
  if (!clientOpt) return CLASSIC_UDP_LIMIT;
  return Math.max(CLASSIC_UDP_LIMIT, Math.min(clientOpt.udpPayloadSize, maxUdpPayload));
}

/** RFC 1035 §4.1.1: FORMERR for a message we could not parse, if it at least carries an ID. */
function formatError(wire: Buffer): Buffer | undefined {
  if (wire.length < 12) return undefined;
  const isResponse = (wire.readUInt16BE(2) & 0x8000) !== 0;
  if (isResponse) return undefined;
  return dnsPacket.encode({
    id: wire.readUInt16BE(0),
    type: 'response',
    flags: RCODE.FORMERR,
    questions: [],
  });
}
