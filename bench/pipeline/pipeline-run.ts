import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { AdminHttp } from '../support/admin-http';
import { BenchmarkFailedError } from '../support/benchmark';
import { summarizeProfile } from './cpu-profile';
import type { ProfileSummary } from './cpu-profile';
import { Ledger } from './ledger';
import type { Correctness, WindowStats } from './ledger';
import { LoadGenerator } from './load-generator';
import { startLoopbackInternet } from './loopback-internet';
import type { LoopbackInternet } from './loopback-internet';
import { MailFactory } from './mail-factory';
import { onboard } from './onboarding';
import { lastSustainable, maxSearch } from './max-search';
import { offer } from './open-loop';
import type { Span } from './open-loop';
import { offerOverload, overloadResult } from './overload';
import type { OverloadResult, OverloadSpans } from './overload';
import type { PipelineSettings } from './pipeline-settings';
import { loadAverage } from './proc-stats';
import { dropRelayData, relayEnvironment } from './relay-env';
import type { RelayEnv } from './relay-env';
import { startRelayProcesses } from './relay-processes';
import type { RelayProcesses } from './relay-processes';
import { resourceUsage, snapshot } from './resource-usage';
import type { ResourceUsage } from './resource-usage';
import { admissionRefusals, stageTimes } from './stage-metrics';
import type { StageTime } from './stage-metrics';

const SIGNING_DOMAIN = 'shop.bench.test';
const READY_TIMEOUT_MS = 180_000;
/** After the last message arrived, how long to keep listening for a duplicate. */
const DUPLICATE_WATCH_MS = 3000;
const PROGRESS_EVERY_MS = 10_000;

/** One measured window: a fixed-rate run, one step of the search for the maximum, an overload phase. */
export interface RateWindow extends WindowStats {
  rate: number;
  phase?: string;
  /** max mode: whether the relay kept up (see `judge`), and why not. */
  sustainable?: boolean;
  why?: string;
}

/** One run of the whole stack with the anti-spam engines on or off. */
export interface ModeResult {
  antiSpam: boolean;
  windows: RateWindow[];
  /** max mode: the last rate the relay kept up with (0: not even the first). */
  maxSustainableRate?: number;
  /** overload mode: replies per phase, timeouts, recovery, and what did not hold. */
  overload?: OverloadResult;
  correctness: Correctness;
  /** States of some missing messages (`GET /v1/messages/{id}`). */
  missingStates: Record<string, string>;
  /** Measured period (sending + drain), the messages delivered in it, and CPU per process. */
  measuredSeconds: number;
  delivered: number;
  resources: ResourceUsage;
  stages: StageTime[];
  /** Ingress's `ser_smtp_admission_refusals_total` by reason, over the whole run (warm-up included). */
  admissionRefusals: Record<string, number>;
  load: { before: ReturnType<typeof loadAverage>; after: ReturnType<typeof loadAverage> };
  profiles: Record<string, ProfileSummary>;
  messages: { meanBytes: number; withAttachmentPercent: number };
  /** Why the run could not finish (start-up, drain); the correctness check is separate. */
  failure?: string;
  /** Logs and profiles, when kept (`--keep=true`, `--profile`, or a failure). */
  dir?: string;
}

/**
 * Waits until every submission is answered and every accepted message arrived, at most `maxS`
 * seconds (retries keep a stuck pipeline "moving", so progress alone is no end), saying every 10 s
 * what it waits for.
 */
async function drain(ledger: Ledger, generator: LoadGenerator, maxS: number): Promise<boolean> {
  const start = performance.now();
  let lastSaid = start;
  for (;;) {
    const outstanding = ledger.outstanding();
    if (outstanding + generator.inFlight === 0) {
      return true;
    }
    const now = performance.now();
    if (now - start > maxS * 1000) {
      return false;
    }
    if (now - lastSaid >= PROGRESS_EVERY_MS) {
      lastSaid = now;
      console.log(
        `bench: pipeline: draining for ${String(Math.round((now - start) / 1000))} s: ` +
          `${String(generator.inFlight)} submissions awaiting a reply, ${String(outstanding)} accepted not delivered`,
      );
    }
    await delay(250);
  }
}

export async function runPipelineMode(settings: PipelineSettings, antiSpam: boolean): Promise<ModeResult> {
  const dir = mkdtempSync(join(tmpdir(), 'ser-bench-pipeline-'));
  const ledger = new Ledger();
  let internet: LoopbackInternet | undefined;
  let relay: RelayEnv | undefined;
  let processes: RelayProcesses | undefined;
  let generator: LoadGenerator | undefined;
  let keepDir = settings.keep || settings.profile.length > 0;
  try {
    internet = await startLoopbackInternet({
      domains: settings.domains,
      mxHosts: settings.mxHosts,
      signingDomain: SIGNING_DOMAIN,
      onReceipt: (receipt) => ledger.received(receipt),
    });
    relay = await relayEnvironment({
      dir,
      dnsServer: internet.dns.address,
      mxPort: internet.mxPort,
      antiSpam,
      clientConnections: settings.clients,
      maxScanBacklog: settings.maxScanBacklog,
      maxConcurrentData: settings.maxConcurrentData,
    });
    processes = await startRelayProcesses({
      env: relay.env,
      dir,
      profile: settings.profile,
      readyTimeoutMs: READY_TIMEOUT_MS,
    });
    const admin = new AdminHttp(relay.adminUrl, relay.adminToken);
    const tenant = await onboard(admin, internet.dns, SIGNING_DOMAIN);
    const factory = new MailFactory({
      size: settings.size,
      fromDomain: SIGNING_DOMAIN,
      recipientDomains: internet.recipientDomains,
      seed: 20261129,
    });
    const clientGenerator = new LoadGenerator(
      {
        host: '127.0.0.1',
        port: relay.submissionPort,
        clients: settings.clients,
        socketTimeoutMs: settings.clientTimeoutS * 1000,
        ...tenant,
      },
      (submission) => ledger.completed(submission),
    );
    generator = clientGenerator;
    let sequence = 0;
    let bytes = 0;
    let attachments = 0;
    const send = (): void => {
      sequence += 1;
      const mail = factory.next(`s${String(sequence)}`);
      bytes += mail.bytes;
      attachments += mail.withAttachment ? 1 : 0;
      ledger.submitted();
      clientGenerator.send(mail);
    };
    const searching = settings.mode === 'max' || (settings.mode === 'overload' && !settings.rateGiven);
    const firstRate = searching ? settings.startRate : settings.rate;
    await offer(firstRate, settings.warmupS, send, () => ledger.progress());
    await drain(ledger, clientGenerator, settings.drainS);

    const before = snapshot(processes, relay.dataDir, settings.external);
    const loadBefore = loadAverage();
    const measuredFrom = performance.now();
    const { spans, overload } = await offerSpans(settings, ledger, send, () =>
      drain(ledger, clientGenerator, settings.drainS),
    );
    const drained = await drain(ledger, clientGenerator, settings.drainS);
    // Judged while running; measured again now that every latency is known.
    const windows = spans.map((s) => ({
      rate: s.rate,
      ...(s.phase === undefined ? {} : { phase: s.phase }),
      ...ledger.window(s.from, s.to, s.offered),
      ...s.verdict,
    }));
    await delay(DUPLICATE_WATCH_MS);
    const measuredTo = performance.now();
    const after = snapshot(processes, relay.dataDir, settings.external);
    const delivered = ledger.deliveredBetween(measuredFrom, measuredTo);
    const correctness = ledger.correctness();
    const result: ModeResult = {
      antiSpam,
      windows,
      ...(settings.mode === 'max' ? { maxSustainableRate: lastSustainable(windows) } : {}),
      ...(overload === undefined ? {} : { overload: overloadResult(overload, ledger) }),
      correctness,
      missingStates: await statesOf(admin, correctness.missingSample),
      measuredSeconds: Math.round((measuredTo - measuredFrom) / 100) / 10,
      delivered,
      resources: resourceUsage(before, after, delivered, antiSpam),
      stages: await stageTimes(processes.processes),
      admissionRefusals: await admissionRefusals(processes.processes),
      load: { before: loadBefore, after: loadAverage() },
      profiles: {},
      messages: {
        meanBytes: Math.round(bytes / Math.max(1, sequence)),
        withAttachmentPercent: Math.round((attachments / Math.max(1, sequence)) * 1000) / 10,
      },
      ...(drained ? {} : { failure: `not drained within ${String(settings.drainS)} s` }),
    };
    keepDir ||= !drained || correctness.missing + correctness.duplicates > 0;
    generator.close();
    generator = undefined;
    await processes.stop();
    processes = undefined;
    for (const service of settings.profile) {
      result.profiles[service] = summarizeProfile(join(dir, `${service}.cpuprofile`));
    }
    return keepDir ? { ...result, dir } : result;
  } catch (error) {
    keepDir = true;
    throw error;
  } finally {
    generator?.close();
    await processes?.stop();
    if (relay !== undefined && !settings.keep) {
      await dropRelayData(relay).catch(() => undefined);
    }
    await internet?.close();
    if (!keepDir) {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

/**
 * Offers the load: one span at the fixed rate; rising steps until the relay stops keeping up; or
 * an overload and its recovery (after a max search, drained, when no base rate is given).
 */
async function offerSpans(
  settings: PipelineSettings,
  ledger: Ledger,
  send: () => void,
  drainNow: () => Promise<boolean>,
): Promise<{ spans: Span[]; overload?: OverloadSpans }> {
  if (settings.mode === 'fixed') {
    const from = performance.now();
    const offered = await offer(settings.rate, settings.durationS, send, () => ledger.progress());
    return { spans: [{ rate: settings.rate, from, to: performance.now(), offered }] };
  }
  if (settings.mode === 'max' || !settings.rateGiven) {
    const search = await maxSearch(settings, ledger, send);
    if (settings.mode === 'max') {
      return { spans: search };
    }
    const found = lastSustainable(search);
    if (found === 0) {
      throw new BenchmarkFailedError('overload: the max search found no sustainable rate; give --rate');
    }
    await drainNow();
    const overload = await offerOverload(settings, { rate: found, from: 'max search' }, ledger, send);
    return { spans: [...search.map((s) => ({ ...s, phase: 'max search' })), ...overload.spans], overload };
  }
  const overload = await offerOverload(settings, { rate: settings.rate, from: 'given' }, ledger, send);
  return { spans: overload.spans, overload };
}

async function statesOf(admin: AdminHttp, ids: readonly string[]): Promise<Record<string, string>> {
  const states: Record<string, string> = {};
  for (const id of ids) {
    const answer = await admin.get(`/v1/messages/${id}`).catch(() => undefined);
    if (answer?.status !== 200) {
      states[id] = `GET answered ${answer === undefined ? 'nothing' : String(answer.status)}`;
      continue;
    }
    const view = JSON.parse(answer.text) as { state?: unknown; reason?: unknown };
    states[id] =
      `${typeof view.state === 'string' ? view.state : '?'}${typeof view.reason === 'string' ? ` (${view.reason})` : ''}`;
  }
  return states;
}
