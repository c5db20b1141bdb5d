// `l2lb-speaker run`: the thin process edge around SpeakerCore — informers, the network side (the
// memberlist node and the ARP/NDP announcer, on their own thread by default), Kubernetes Events,
// metrics and probes, signals.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import winston from 'winston';
import { Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { KubeClient } from '@l2lb/shared/kube/client';
import { EventRecorder } from '@l2lb/shared/kube/events';
import { chooseEndpointsSource } from '@l2lb/shared/kube/discovery';
import { Informer } from '@l2lb/shared/kube/informer';
import { loadClientConfig } from '@l2lb/shared/kube/light-config';
import { processConfigurationStateWriter, type ConfigurationStateWriter } from '@l2lb/shared/kube/configuration-state';
import { CONFIGMAP_NAME, ConfigSource, DEFAULT_CRD_RECHECK_MS, kubeConfigSourceDeps, type ConfigMapReading } from '@l2lb/shared/kube/config-source';
import { Resources, type KubeObject } from '@l2lb/shared/kube/types';
import { registerMemberlistMetrics } from '@l2lb/memberlist';
import { errorText } from '@l2lb/shared/log';
import { releaseFreeMemory } from '@l2lb/native';
import { Announcer, type ConflictEvent } from '../l2/announcer.js';
import { EXCLUDE_L2_CONFIGMAP, parseExcludeL2, type ExcludeL2 } from '../l2/excludel2.js';
import { registerAnnouncerMetrics } from '../l2/metrics.js';
import { nativeListInterfaces, nativeSocketFactory, nativeWatchLinks } from '../l2/native.js';
import { LocalNetwork, type SpeakerNetwork } from '../net/network.js';
import { NetworkThread, registerNetworkThreadMetrics } from '../net/thread.js';
import { SpeakerCore } from './core.js';
import { endpointSliceCacheForm, nodeCacheForm, serviceCacheForm } from './views.js';
import { L2LB_MEMBER_META, advertisementsWithPreferences, foreignMembers, mixedClusterWarning } from './mixed.js';
import { startL2StatusWriter, type L2StatusHandle } from './l2status-process.js';
import { RUN_USAGE, parseRunArgs, type RunOptions } from './options.js';
import { startProbeServer, type ProbeServer } from '@l2lb/shared/probes';
import { processLogger, runUntilSignal } from '@l2lb/shared/lifecycle';

export { CONFIGMAP_NAME };
const POD_RELIST_MS = 60_000;
const STARTUP_GRACE_MS = 3000;
const CONFLICT_EVENT_MS = 60_000;

/** Reads DIR/secretkey; undefined (with the reason) when missing or empty. */
export function readSecretKey(dir: string): { key: string } | { missing: string } {
  const path = join(dir, 'secretkey');
  try {
    const key = readFileSync(path, 'utf8');
    return key === '' ? { missing: `${path} is empty` } : { key };
  } catch (e) {
    return { missing: `cannot read ${path}: ${errorText(e)}` };
  }
}

/** A watched cache of one kind of Kubernetes object (Services, Nodes, EndpointSlices). */
type KubeObjectInformer = Informer<KubeObject>;

/** Injected for tests: an announcer on fake sockets (run on the main thread), a short CRD re-check. */
export interface SpeakerDeps {
  announcer?: Announcer;
  crdRecheckMs?: number;
}

/**
 * How often the speaker hands malloc's free pages back (glibc malloc_trim): relists and start-up leave
 * megabytes freed inside malloc's arenas that would otherwise stay in RSS (docs/decisions.md, "Speaker
 * memory at 1 000 VIPs"). Each call takes 1-3 ms.
 */
const RELEASE_FREE_MEMORY_MS = 10_000;

/** Log levels the network thread sends over; anything else (winston's extra levels) counts as debug. */
function networkLogLevel(level: string): 'error' | 'warn' | 'info' | 'debug' {
  return level === 'error' || level === 'warn' || level === 'info' ? level : 'debug';
}

export class SpeakerProcess {
  readonly registry = new Registry();
  readonly core: SpeakerCore;
  /** Memberlist and the announcer: a worker thread (NetworkThread) or this thread (LocalNetwork). */
  private readonly network: SpeakerNetwork;
  private readonly events: EventRecorder;
  private readonly informers: KubeObjectInformer[] = [];
  /** The pool ConfigMap, the metallb.io CRs (with discovery) and metallb-excludel2: validated snapshots out. */
  readonly configSource: ConfigSource;
  /** ConfigurationState `speaker-<node>`: written on a timer, never from the announcement path. */
  readonly configurationState: ConfigurationStateWriter;
  /** The exclude list in force, as text (to log changes only); a refused list leaves it. */
  private excludeL2Applied: string | undefined;
  private readonly excludeL2Refused: Gauge;
  private readonly foreignGauge: Gauge;
  private mixedWarned: string | undefined;
  /** memberlist runs (startMemberlist succeeded). */
  private mlStarted = false;
  private mlPending = false;
  private mlWaitLogged = false;
  private synced = false;
  private stopping = false;
  private stopped: Promise<void> | undefined;
  private readonly timers = new Set<NodeJS.Timeout>();
  /** When an IPConflict Event was last recorded, per `ip/mac`. */
  private readonly conflictEvents = new Map<string, number>();
  private podIPs: string[] = [];
  private l2status: L2StatusHandle | undefined;

  private readonly kubeLog: winston.Logger;

  constructor(
    private readonly run: RunOptions,
    private readonly client: KubeClient,
    private readonly log: winston.Logger,
    deps: SpeakerDeps = {},
  ) {
    collectDefaultMetrics({ register: this.registry });
    const kubeLog = log.child({ component: 'kube' });
    this.configSource = new ConfigSource({
      namespace: run.namespace,
      logger: log,
      crdRecheckMs: deps.crdRecheckMs ?? DEFAULT_CRD_RECHECK_MS,
      ...kubeConfigSourceDeps(client, kubeLog, this.registry),
    });
    this.kubeLog = kubeLog;
    this.network =
      deps.announcer === undefined && run.networkThread
        ? new NetworkThread(log, networkLogLevel(run.logLevel))
        : new LocalNetwork(
            deps.announcer ??
              new Announcer({
                socketFactory: nativeSocketFactory(),
                listInterfaces: nativeListInterfaces,
                watchLinks: nativeWatchLinks,
                logger: log.child({ component: 'l2-announcer' }),
              }),
            log.child({ component: 'memberlist' }),
          );
    registerAnnouncerMetrics(this.network, this.registry);
    if (this.network instanceof NetworkThread) registerNetworkThreadMetrics(this.network, this.registry);
    this.events = new EventRecorder(client, { controller: 'l2lb.io/speaker', instance: run.nodeName, logger: kubeLog });
    this.core = new SpeakerCore({
      node: run.nodeName,
      announcer: this.network,
      lbClass: run.lbClass,
      ignoreExcludeLb: run.ignoreExcludeLb,
      logger: log,
      registry: this.registry,
      gated: run.mlBindAddr !== undefined,
      startupGraceMs: STARTUP_GRACE_MS,
      configMapObject: this.configSource.configMapObject,
      defer: (fn) => setImmediate(fn), // passes over all Services yield to memberlist and the sockets
      onAnnouncementChanged: (key) => this.l2status?.writer.changed(key),
      event: (svc, type, reason, message) => {
        void this.events.record(
          { kind: 'Service', apiVersion: 'v1', namespace: svc.namespace, name: svc.name, ...(svc.uid ? { uid: svc.uid } : {}) },
          type,
          reason,
          message,
        );
      },
    });
    // A link that appears or goes changes where Services with L2Advertisement interfaces can be answered.
    this.network.on('link', () => this.core.interfacesChanged());
    this.network.on('conflict', (c) => this.reportConflict(c));
    this.network.on('members', (m) => {
      this.log.info('memberlist', { event: m.event, member: m.member.name, addr: hostPort(m.member.addr, m.member.port) });
      this.membersChanged();
    });
    // The network thread died: nothing answers ARP or gossip any more, so the process must end (the
    // kubelet restarts it) rather than look alive.
    this.network.on('fatal', (e) => this.fail(e));
    const common = { logger: kubeLog, registry: this.registry };
    // Cache forms: the informers keep only what the parsers read (views.ts), most of an object's bytes.
    const services = this.informer(new Informer(client, { resource: Resources.services, name: 'services', transform: serviceCacheForm, ...common }));
    services
      .on('add', (s) => this.core.upsertService(s))
      .on('update', (s) => this.core.upsertService(s))
      .on('delete', (s) => {
        this.core.deleteService(s);
        this.l2status?.serviceDeleted(s);
      });
    const nodes = this.informer(new Informer(client, { resource: Resources.nodes, name: 'nodes', transform: nodeCacheForm, ...common }));
    nodes
      .on('add', (n) => this.core.upsertNode(n))
      .on('update', (n) => this.core.upsertNode(n))
      .on('delete', (n) => this.core.deleteNode(n));
    this.configurationState = processConfigurationStateWriter({
      client,
      namespace: run.namespace,
      component: 'speaker',
      node: run.nodeName,
      logger: kubeLog,
      registry: this.registry,
    });
    this.configSource.onChange(() => this.applyConfig()).onVerdict((verdict) => this.configurationState.report(verdict));
    // MetalLB's interface exclusions, watched live (MetalLB reads its mounted copy at start only).
    const excludeObject = `ConfigMap ${run.namespace}/${EXCLUDE_L2_CONFIGMAP}`;
    this.configSource.watchConfigMap(
      EXCLUDE_L2_CONFIGMAP,
      (cm) => {
        const parsed = parseExcludeL2(cm?.['data'], excludeObject);
        return parsed.ok ? { ok: true, value: parsed } : parsed;
      },
      (reading) => this.applyExcludeL2(reading),
    );
    this.excludeL2Refused = new Gauge({
      name: 'l2lb_speaker_excludel2_refused',
      help: `1 while the newest ${EXCLUDE_L2_CONFIGMAP} ConfigMap is refused and the last good interface exclusions stay`,
      registers: [this.registry],
    });
    this.excludeL2Refused.set(0);
    this.foreignGauge = new Gauge({
      name: 'l2lb_speaker_foreign_members',
      help: 'memberlist members without the l2lb metadata marker (MetalLB speakers, or an older l2lb)',
      registers: [this.registry],
    });
    this.foreignGauge.set(0);
  }

  /** Applies metallb-excludel2 (absent: the default list); an invalid one is refused, the last good list stays. */
  private applyExcludeL2(reading: ConfigMapReading<Extract<ExcludeL2, { ok: true }>>): void {
    const object = `ConfigMap ${this.run.namespace}/${EXCLUDE_L2_CONFIGMAP}`;
    if (reading.kind === 'invalid') {
      this.excludeL2Refused.set(1);
      if (reading.repeated) return;
      const uid = reading.object?.metadata?.uid;
      this.log.error(`invalid interface exclusions, keeping the last good ones: ${reading.error}`, { stale: true });
      void this.events.record(
        { kind: 'ConfigMap', apiVersion: 'v1', namespace: this.run.namespace, name: EXCLUDE_L2_CONFIGMAP, ...(uid ? { uid } : {}) },
        'Warning',
        'InvalidConfiguration',
        `invalid interface exclusions, keeping the last good ones: ${reading.error}`,
      );
      return;
    }
    const parsed = reading.value;
    this.excludeL2Refused.set(0);
    const text = JSON.stringify([parsed.source, parsed.patterns]);
    if (text === this.excludeL2Applied) return;
    this.excludeL2Applied = text;
    this.log.info(
      parsed.source === 'default' ? `no ${object} (or no data.excludel2.yaml): default interface exclusions` : `interface exclusions from ${object}`,
      { exclude: parsed.patterns },
    );
    this.network.setExclude(parsed.exclude);
  }

  /** discovery.k8s.io/v1 EndpointSlices, or v1beta1 where v1 is not served (Kubernetes 1.20). */
  private async watchEndpointSlices(): Promise<void> {
    const src = await chooseEndpointsSource(this.client);
    if (src.kind !== 'EndpointSlice') {
      this.log.error('the API server serves no EndpointSlices (Kubernetes < 1.17): no Service has a ready endpoint, nothing is announced');
      return;
    }
    this.log.info(`watching EndpointSlices (${src.resource.group}/${src.resource.version})`);
    const slices = this.informer(
      new Informer(this.client, {
        resource: src.resource,
        name: 'endpointslices',
        transform: endpointSliceCacheForm,
        logger: this.kubeLog,
        registry: this.registry,
      }),
    );
    slices
      .on('add', (s) => this.core.upsertSlice(s))
      .on('update', (s) => this.core.upsertSlice(s))
      .on('delete', (s) => this.core.deleteSlice(s));
  }

  /**
   * Another host answers for an IP this node announces (a split network, a static address, a second
   * load balancer): counted and logged by the announcer; here a Warning Event on each Service of that
   * IP, at most once a minute per IP and MAC, so `kubectl describe svc` shows it.
   */
  private reportConflict(c: ConflictEvent): void {
    const key = `${c.ip}/${c.mac}`;
    const now = Date.now();
    if ((this.conflictEvents.get(key) ?? -Infinity) + CONFLICT_EVENT_MS > now) return;
    if (this.conflictEvents.size >= 1024) this.conflictEvents.clear();
    this.conflictEvents.set(key, now);
    this.core.warnAnnounced(
      c.ip,
      'IPConflict',
      `another host (MAC ${c.mac}) also answers for ${c.ip} on ${c.interface} (${c.kind}) while node "${this.run.nodeName}" announces it`,
    );
  }

  // Declared in this order: field initializers run in order, and `failure` replaces `fail`.
  private fail: (e: Error) => void = () => undefined;
  /** Resolves when the speaker cannot go on (its network thread died); the process then exits 1. */
  readonly failure: Promise<Error> = new Promise((resolve) => {
    this.fail = resolve;
  });

  get ready(): boolean {
    // Without a valid configuration the speaker stays out of memberlist on purpose: that is ready too.
    // With memberlist, only once the start-up hold is over: peers count this speaker as a candidate from
    // its first push/pull, and a rolling reboot that moves on at Ready must find it answering.
    return this.synced && (this.run.mlBindAddr === undefined || (this.mlStarted && this.core.active) || !this.core.hasConfig);
  }

  /** Gives the C heap's free pages back to the kernel: without it RSS stays at malloc's high-water mark. */
  private giveBackFreeMemory(): void {
    const started = performance.now();
    try {
      releaseFreeMemory();
    } catch (e) {
      this.log.warn(`cannot give free memory back to the kernel: ${errorText(e)}`);
    }
    const ms = performance.now() - started;
    if (ms > 20) this.log.debug('giving free memory back to the kernel took long', { ms: Math.round(ms) });
  }

  private informer(i: KubeObjectInformer): KubeObjectInformer {
    this.informers.push(i);
    return i;
  }

  private later(ms: number, fn: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (!this.stopping) fn();
    }, ms);
    t.unref();
    this.timers.add(t);
  }

  async start(): Promise<void> {
    await this.network.start();
    if (this.run.mlBindAddr === undefined) this.core.setMembers(undefined);
    await this.configSource.start();
    if (this.stopping) return;
    await this.watchEndpointSlices();
    if (this.stopping) return;
    this.l2status = await startL2StatusWriter({
      client: this.client,
      node: this.run.nodeName,
      namespace: this.run.namespace,
      core: this.core,
      registry: this.registry,
      logger: this.log.child({ component: 'l2status' }),
      recheckMs: this.configSource.crdRecheckMs,
      stopping: () => this.stopping,
    });
    for (const i of this.informers) i.start();
    await Promise.all([...this.informers.map((i) => i.waitForSync()), this.configSource.waitForSync()]);
    if (this.stopping) return;
    this.applyConfig(true);
    this.synced = true;
    const release = setInterval(() => this.giveBackFreeMemory(), RELEASE_FREE_MEMORY_MS);
    release.unref();
    this.timers.add(release);
    this.configurationState.start();
    this.log.info('informers synced', { namespace: this.run.namespace, interfaces: this.network.interfaces() });
    this.core.markSynced();
    await this.joinWhenConfigured();
  }

  /**
   * Joins memberlist only once a valid configuration is in force. A speaker without one can announce
   * nothing, yet as a member it would be a candidate: winning an election, it would leave the VIP
   * with nobody answering (MetalLB has this gap). So it stays out until the configuration is valid.
   */
  private async joinWhenConfigured(): Promise<void> {
    const bind = this.run.mlBindAddr;
    if (bind === undefined || this.mlStarted || this.mlPending || this.stopping) return;
    if (!this.core.hasConfig) {
      if (!this.mlWaitLogged) this.log.warn('no valid configuration yet: staying out of memberlist until there is one, so peers keep answering');
      this.mlWaitLogged = true;
      return;
    }
    this.mlPending = true;
    try {
      await this.startMemberlist(bind);
    } catch (e) {
      // e.g. the port is taken: /readyz stays 503 meanwhile, so the rollout shows it.
      this.log.error(`cannot start memberlist on ${hostPort(bind, this.run.mlBindPort)}, retrying in 5 s: ${errorText(e)}`);
      this.later(5000, () => void this.joinWhenConfigured());
    } finally {
      this.mlPending = false;
    }
  }

  /** Hands the source's newest snapshot to the core; before the first full pass (firstPass) only that pass does. */
  private applyConfig(firstPass = false): void {
    if (!firstPass && !this.synced) return;
    this.core.applyConfigUpdate(this.configSource.evaluate());
    if (this.mlStarted) this.checkMixedCluster();
    if (this.synced) void this.joinWhenConfigured();
  }

  // ---- memberlist ------------------------------------------------------------------------

  private readonly memberGauge = new Gauge({
    name: 'l2lb_speaker_memberlist_member',
    help: '1 per memberlist member this speaker sees alive or suspect (its election candidates; `kubectl l2lb` reads it)',
    labelNames: ['member'],
    registers: [this.registry],
  });

  /** The member list changed (or memberlist started): the election's candidates, the gauge, the mixed-cluster check. */
  private membersChanged(): void {
    if (!this.mlStarted) return;
    const names = this.network.members().map((m) => m.name);
    this.memberGauge.reset();
    for (const n of names) this.memberGauge.set({ member: n }, 1);
    this.core.setMembers(names);
    this.checkMixedCluster();
  }

  private async startMemberlist(bind: string): Promise<void> {
    const secret = readSecretKey(this.run.mlSecretKeyPath);
    if ('missing' in secret) this.log.warn(`memberlist secret key not available (${secret.missing}): gossip is NOT encrypted`);
    await this.network.startMemberlist({
      name: this.run.nodeName,
      bindIp: bind,
      bindPort: this.run.mlBindPort,
      profile: this.run.mlProfile,
      secretKey: 'key' in secret ? secret.key : undefined,
      meta: new TextEncoder().encode(L2LB_MEMBER_META),
    });
    this.core.start(); // the start-up hold runs from here: until the first join round or 3 s
    registerMemberlistMetrics(this.registry, this.network.memberlistMetrics);
    this.mlStarted = true;
    this.membersChanged();
    this.log.info('memberlist started', {
      bind: hostPort(bind, this.run.mlBindPort),
      profile: this.run.mlProfile,
      encrypted: 'key' in secret,
      thread: this.network instanceof NetworkThread ? 'network' : 'main',
    });
    void this.joinRound(true);
  }

  /** Warns (once per change) when non-l2lb members could elect differently because of preferredNodeSelectors. */
  private checkMixedCluster(): void {
    const members = this.mlStarted ? this.network.members() : [];
    const foreign = foreignMembers(members, this.run.nodeName);
    this.foreignGauge.set(foreign.length);
    const warning = mixedClusterWarning(foreign, advertisementsWithPreferences(this.core.currentConfig));
    if (warning !== undefined && warning !== this.mixedWarned) this.log.warn(warning);
    this.mixedWarned = warning;
  }

  /** Lists the speaker Pods, joins every peer that is not a member yet; the first round opens the start-up gate. */
  private async joinRound(first: boolean): Promise<void> {
    if (!this.mlStarted || this.stopping) return;
    if (this.run.mlLabels !== '') {
      try {
        const pods = await this.client.list(Resources.pods, { namespace: this.run.namespace, labelSelector: this.run.mlLabels });
        this.podIPs = pods.items
          .map((p) => (p['status'] as { podIP?: unknown } | undefined)?.podIP)
          .filter((ip): ip is string => typeof ip === 'string' && ip !== '');
      } catch (e) {
        this.log.warn(`cannot list speaker Pods (${this.run.mlLabels}) in ${this.run.namespace}: ${errorText(e)}`);
      }
    }
    const known = new Set(this.network.members().map((m) => hostPort(m.addr, m.port)));
    const own = hostPort(this.run.mlBindAddr ?? '', this.run.mlBindPort);
    const targets = new Map<string, { ip: string; port: number }>();
    for (const j of [...this.run.mlJoin, ...this.podIPs.map((host) => ({ host, port: undefined }))]) {
      const t = { ip: j.host, port: j.port ?? this.run.mlBindPort };
      const k = hostPort(t.ip, t.port);
      if (k !== own && !known.has(k)) targets.set(k, t);
    }
    if (targets.size > 0 && !this.stopping) {
      // One join per peer: a powered-off node's Pod still lists its IP, and the push/pull to it waits for
      // the TCP timeout. The first peer that answers has handed over its whole member list, so the hold
      // can end there; peers already count this speaker as a candidate from that push/pull on, and a VIP
      // it wins would go unanswered until the dead Pod timed out.
      const [contacted, errors] = await new Promise<[number, string[]]>((resolve) => {
        let pending = targets.size;
        let ok = 0;
        const errs: string[] = [];
        for (const t of targets.values()) {
          this.network.join(t, (n, e) => {
            ok += n;
            errs.push(...e);
            if (n > 0 && first && !this.stopping) this.core.openGate('a memberlist peer answered');
            if (--pending === 0) resolve([ok, errs]);
          });
        }
      });
      this.log[contacted > 0 ? 'info' : 'warn']('memberlist join attempt', { peers: [...targets.keys()], contacted, errors });
    }
    if (first) this.core.openGate(targets.size > 0 ? 'first memberlist join attempt finished' : 'no memberlist peers to join');
    this.later(POD_RELIST_MS, () => void this.joinRound(false));
  }

  // ---- shutdown ----------------------------------------------------------------------------

  /**
   * Stop answering at once, leave memberlist (peers take over immediately), stop watching. A second
   * call (SIGTERM then SIGINT) returns the first one's promise: "stopped" only once memberlist was left.
   */
  stop(): Promise<void> {
    this.stopped ??= this.stopOnce();
    return this.stopped;
  }

  private async stopOnce(): Promise<void> {
    this.stopping = true;
    for (const t of this.timers) clearTimeout(t);
    // The new owner replaces this node's ServiceL2Status objects; a restarted speaker adopts them.
    const l2status = this.l2status?.stop();
    const configurationState = this.configurationState.stop();
    this.core.shutdown(); // withdraws every IP: the network side applies that before the leave below
    if (this.mlStarted) await this.network.leave(800);
    await this.network.stop();
    await Promise.race([
      Promise.all([...this.informers.map((i) => i.stop()), this.configSource.stop(), l2status, configurationState]),
      new Promise((r) => setTimeout(r, 500).unref()),
    ]);
  }
}

/** `ip:port`, with brackets for IPv6 (`fd00::1:7946` would itself read as an address). */
function hostPort(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

export async function runCommand(argv: readonly string[], env: Readonly<Record<string, string | undefined>> = process.env): Promise<number> {
  const parsed = parseRunArgs(argv, env);
  if ('help' in parsed) {
    process.stdout.write(`${RUN_USAGE}\n`);
    return 0;
  }
  if ('error' in parsed) {
    process.stderr.write(`l2lb-speaker run: ${parsed.error}\n${RUN_USAGE}\n`);
    return 2;
  }
  const log = processLogger({ component: 'speaker', level: parsed.logLevel, format: parsed.logFormat, textMeta: true });
  let client: KubeClient;
  try {
    client = new KubeClient(await loadClientConfig(parsed.kubeconfig), { userAgent: `l2lb-speaker/${parsed.nodeName}` });
  } catch (e) {
    log.error(`cannot load the Kubernetes client configuration: ${errorText(e)}`);
    return 1;
  }
  const speaker = new SpeakerProcess(parsed, client, log);
  let probes: ProbeServer | undefined;
  if (parsed.metricsPort !== 0) {
    try {
      probes = await startProbeServer({
        host: parsed.metricsHost,
        port: parsed.metricsPort,
        registry: speaker.registry,
        ready: () => speaker.ready,
        notReadyText: 'not ready: informers not synced, memberlist not started or its start-up hold not over',
      });
    } catch (e) {
      log.error(`cannot listen on ${hostPort(parsed.metricsHost, parsed.metricsPort)} for metrics: ${errorText(e)}`);
      return 1;
    }
  }
  log.info('starting', {
    node: parsed.nodeName,
    namespace: parsed.namespace,
    memberlist: parsed.mlBindAddr ? hostPort(parsed.mlBindAddr, parsed.mlBindPort) : 'off',
    metricsPort: probes?.port ?? 0,
    server: client.server,
  });
  return runUntilSignal(speaker, {
    log,
    stopping: 'withdrawing everything and leaving memberlist',
    ready: 'ready',
    failed: 'speaker failed',
    deadline: { ms: 2500, code: 0 }, // the contract: exit 0 within 3 s
    failure: speaker.failure,
    afterStop: async () => probes?.close(),
  });
}
