// The speaker's decision core: state updates in (Services, EndpointSlices, Nodes, configuration,
// memberlist members), announce / withdraw / events / metrics out. No I/O: the announcer, the event
// sink, the logger and the timers are injected, so every rule runs in unit tests with fakes.
//
// Per Service it asks the pure MetalLB election (decide()) and acts on changes only: an IP announced
// by several Services is reference-counted, a Service that moves to other IPs first withdraws the old
// ones, `nodeAssigned` is recorded once per gain. Nothing is announced before the informers synced,
// a configuration was loaded, and the start-up gate opened (a first peer answered, the first join attempt done, or
// the grace period over): a new speaker alone in its member list must not announce everything.
import { Counter, Gauge } from 'prom-client';
import { ConfigState, type Config, type ConfigInputs, type ConfigUpdate } from '@l2lb/shared';
import { errorText, silentLogger, type Logger } from '@l2lb/shared/log';
import { CandidateCache, decide, type Decision, type EndpointView, type NodeView } from '../election/election.js';
import { keyOf, objectId, parseEndpointSlice, parseNode, parseService, type ObjectId, type ServiceInfo } from './views.js';

export type { CoreAnnouncer, EventSink, CoreTimers, SpeakerCoreOptions, CoreWithdrawReason } from './core-types.js';
import type { CoreTimers, SpeakerCoreOptions, CoreWithdrawReason } from './core-types.js';

interface Announced {
  readonly ips: readonly string[];
  readonly interfaces: readonly string[];
}

const realTimers: CoreTimers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

export class SpeakerCore {
  private readonly log: Logger;
  private readonly timers: CoreTimers;
  private readonly configState = new ConfigState();
  private config: Config | undefined;
  private readonly services = new Map<string, { id: ObjectId; info: ServiceInfo }>();
  /** slice key → its Service's key; and per Service key, its slices' endpoints (no scan per decision). */
  private readonly sliceOwner = new Map<string, string>();
  private readonly endpointsBySvc = new Map<string, Map<string, readonly EndpointView[]>>();
  /** Replaced, never changed in place: the election's CandidateCache keys on its identity. */
  private nodes: ReadonlyMap<string, NodeView> = new Map<string, NodeView>();
  private readonly candidateCache = new CandidateCache();
  private members: ReadonlySet<string> | undefined;
  private readonly announced = new Map<string, Announced>();
  /** ip → (service key → interfaces that Service wants). */
  private readonly ipUsers = new Map<string, Map<string, readonly string[]>>();
  private readonly failed = new Set<string>();
  private synced = false;
  private gateOpen: boolean;
  private gateTimer: unknown;
  private stopped = false;
  /** Services still to decide in the current deferred pass (insertion order: none starves). */
  private readonly dirty = new Set<string>();
  /**
   * Service objects received while active with a deferral, parsed and decided in the deferred pass
   * (a relist hands over thousands in one synchronous loop); the newest object per key.
   */
  private readonly noted = new Map<string, unknown>();
  private passScheduled = false;
  /** Announced Services to re-send gratuitous bursts for if their next decision keeps them here. */
  private readonly reassertKeys = new Set<string>();
  private readonly gauges: Gauge[];
  /**
   * The newest configuration has no address pool (ConfigMap deleted and no CRs, CRDs gone, or every
   * pool removed) while an earlier one had: the earlier one stays in force. A Service cannot be
   * announced without a pool, so "nothing" is far more likely an accident (a namespace or CRD
   * deleted, a GitOps sync half-way) than an order to drop every VIP of the cluster at once.
   */
  private holdingForEmpty = false;
  /** The newest configuration was refused (the last valid one stays in force). */
  private invalidNewest = false;
  private readonly updates: Counter;
  private readonly updateErrors: Counter;

  constructor(private readonly options: SpeakerCoreOptions) {
    this.log = options.logger ?? silentLogger;
    this.timers = options.timers ?? realTimers;
    this.gateOpen = !(options.gated ?? false);
    const registers = options.registry ? [options.registry] : [];
    const labelNames = ['service', 'protocol', 'node', 'ip'] as const;
    this.gauges = [
      new Gauge({ name: 'l2lb_speaker_announced', help: '1 while this node announces the Service IP', labelNames, registers }),
      new Gauge({ name: 'metallb_speaker_announced', help: 'MetalLB-compatible: 1 while this node announces the Service IP', labelNames, registers }),
    ];
    const loaded = (): boolean => this.config !== undefined;
    const stale = (): boolean => this.configStale;
    new Gauge({
      name: 'l2lb_speaker_config_loaded',
      help: '1 once a valid configuration is in force',
      registers,
      collect() {
        this.set(loaded() ? 1 : 0);
      },
    });
    new Gauge({
      name: 'l2lb_speaker_config_stale',
      help: '1 while the newest configuration is invalid or has no pool and the last valid one stays in force',
      registers,
      collect() {
        this.set(stale() ? 1 : 0);
      },
    });
    // MetalLB's names (internal/k8s/controllers/stats.go), no labels, so its alerts and dashboards work unchanged.
    new Gauge({
      name: 'metallb_k8s_client_config_loaded_bool',
      help: 'MetalLB-compatible: 1 if the MetalLB configuration was successfully loaded at least once.',
      registers,
      collect() {
        this.set(loaded() ? 1 : 0);
      },
    });
    new Gauge({
      name: 'metallb_k8s_client_config_stale_bool',
      help: 'MetalLB-compatible: 1 if running on a stale configuration, because the latest config failed to load.',
      registers,
      collect() {
        this.set(stale() ? 1 : 0);
      },
    });
    this.updates = new Counter({
      name: 'metallb_k8s_client_updates_total',
      help: 'MetalLB-compatible: Number of k8s object updates that have been processed.',
      registers,
    });
    this.updateErrors = new Counter({
      name: 'metallb_k8s_client_update_errors_total',
      help: 'MetalLB-compatible: Number of k8s object updates that failed for some reason.',
      registers,
    });
  }

  /** True once informers synced, a configuration was loaded and the start-up gate opened. */
  get active(): boolean {
    return this.synced && this.gateOpen && this.config !== undefined && !this.stopped;
  }

  /** The configuration in force (undefined before the first valid one). */
  get currentConfig(): Config | undefined {
    return this.config;
  }

  /** A valid configuration is in force (perhaps stale: the newest one may be invalid). */
  get hasConfig(): boolean {
    return this.config !== undefined;
  }

  /** The newest configuration is invalid, or has no pool, and the last valid one stays in force. */
  get configStale(): boolean {
    return this.invalidNewest || this.holdingForEmpty;
  }

  /** Starts the start-up grace timer (gated cores only). */
  start(): void {
    if (this.gateOpen || this.gateTimer !== undefined || this.stopped) return;
    this.gateTimer = this.timers.setTimeout(
      () => this.openGate(`no memberlist join finished within ${this.options.startupGraceMs ?? 3000} ms`),
      this.options.startupGraceMs ?? 3000,
    );
  }

  /** The first join attempt reached a peer or finished (or the grace period passed): announcements may start. */
  openGate(why: string): void {
    if (this.gateOpen) return;
    this.gateOpen = true;
    if (this.gateTimer !== undefined) this.timers.clearTimeout(this.gateTimer);
    this.gateTimer = undefined;
    this.log.info('start-up hold over, evaluating Services', { why, members: this.members ? [...this.members].sort() : null });
    this.reconcileAll();
  }

  /** Every informer has listed once: the state is complete. */
  markSynced(): void {
    if (this.synced) return;
    this.synced = true;
    this.reconcileAll();
  }

  // ---- state updates ---------------------------------------------------------------------

  upsertService(obj: unknown): void {
    this.updates.inc();
    if (this.options.defer && this.active) {
      const id = objectId(obj);
      if (!id) return this.log.warn('ignoring a Service without metadata.name');
      const key = keyOf(id);
      this.noted.set(key, obj);
      this.markDirty(key);
      return;
    }
    this.storeService(obj);
  }

  /** Parses a Service into the state and decides it. */
  private storeService(obj: unknown): void {
    const p = parseService(obj);
    if (!p) return this.log.warn('ignoring a Service without metadata.name');
    const key = keyOf(p.id);
    if (p.problems.length > 0) this.log.warn('Service has unusable fields', { service: key, problems: p.problems });
    this.services.set(key, { id: p.id, info: p.value });
    this.reconcile(key);
  }

  deleteService(obj: unknown): void {
    this.updates.inc();
    const id = objectId(obj);
    if (!id) return;
    const key = keyOf(id);
    this.noted.delete(key);
    this.services.delete(key);
    if (this.options.defer && this.active) this.markDirty(key);
    else this.reconcile(key);
  }

  upsertSlice(obj: unknown): void {
    this.updates.inc();
    const p = parseEndpointSlice(obj);
    if (!p) return this.log.warn('ignoring an EndpointSlice without metadata.name');
    const sliceKey = keyOf(p.id);
    if (p.problems.length > 0) this.log.warn('EndpointSlice has unusable fields', { endpointslice: sliceKey, problems: p.problems });
    const before = this.dropSlice(sliceKey);
    if (p.value.service !== undefined) {
      this.sliceOwner.set(sliceKey, p.value.service);
      let m = this.endpointsBySvc.get(p.value.service);
      if (!m) this.endpointsBySvc.set(p.value.service, (m = new Map()));
      m.set(sliceKey, p.value.endpoints);
    }
    if (before !== undefined && before !== p.value.service) this.decideSoon(before);
    if (p.value.service !== undefined) this.decideSoon(p.value.service);
  }

  deleteSlice(obj: unknown): void {
    this.updates.inc();
    const p = parseEndpointSlice(obj);
    if (!p) return;
    const before = this.dropSlice(keyOf(p.id));
    if (before !== undefined) this.decideSoon(before);
  }

  /** Decides a Service now, or in the deferred pass while active with a deferral. */
  private decideSoon(key: string): void {
    if (this.options.defer && this.active) this.markDirty(key);
    else this.reconcile(key);
  }

  /** Forgets a slice; returns the Service it belonged to. */
  private dropSlice(sliceKey: string): string | undefined {
    const svc = this.sliceOwner.get(sliceKey);
    if (svc === undefined) return undefined;
    this.sliceOwner.delete(sliceKey);
    const m = this.endpointsBySvc.get(svc);
    m?.delete(sliceKey);
    if (m?.size === 0) this.endpointsBySvc.delete(svc);
    return svc;
  }

  upsertNode(obj: unknown): void {
    this.updates.inc();
    const p = parseNode(obj);
    if (!p) return this.log.warn('ignoring a Node without metadata.name');
    if (p.problems.length > 0) this.log.warn('Node has unusable fields', { node: p.id.name, problems: p.problems });
    const old = this.nodes.get(p.id.name);
    if (old && JSON.stringify(old) === JSON.stringify(p.value)) return;
    this.nodes = new Map(this.nodes).set(p.id.name, p.value);
    this.reconcileAll();
  }

  deleteNode(obj: unknown): void {
    this.updates.inc();
    const p = parseNode(obj);
    if (!p || !this.nodes.has(p.id.name)) return;
    const nodes = new Map(this.nodes);
    nodes.delete(p.id.name);
    this.nodes = nodes;
    this.reconcileAll();
  }

  /** Alive and suspect memberlist member names; undefined when memberlist is off. */
  setMembers(names: Iterable<string> | undefined): void {
    const next = names === undefined ? undefined : new Set(names);
    const prev = this.members;
    const same = next === undefined ? prev === undefined : prev !== undefined && next.size === prev.size && [...next].every((n) => prev.has(n));
    this.members = next;
    if (same) return;
    // A member (re)joined: after a healed split it may have announced our IPs to the clients while it
    // held us dead. It withdraws when it decides; the Services we keep get a fresh gratuitous burst
    // when we decide them (so never for an IP about to move), and every client moves back at once
    // instead of when its ARP/neighbour entry expires.
    if (next !== undefined && prev !== undefined && [...next].some((n) => !prev.has(n))) {
      for (const key of this.announced.keys()) this.reassertKeys.add(key);
    }
    this.reconcileAll();
  }

  /**
   * The pool ConfigMap text and the metallb.io objects. An invalid configuration keeps the last valid
   * one; so does a configuration without any pool (see holdingForEmpty), and before any valid one a
   * configuration without pools counts as none (the speaker stays out of memberlist).
   */
  setConfig(inputs: Omit<ConfigInputs, 'configMapObject'> & { configMapObject?: string }): void {
    this.applyConfigUpdate(
      this.configState.update({ ...inputs, configMapObject: inputs.configMapObject ?? this.options.configMapObject ?? 'ConfigMap config' }),
    );
  }

  /** The same, for a configuration the process's ConfigSource validated already (one validation per change). */
  applyConfigUpdate(update: ConfigUpdate): void {
    this.updates.inc();
    if (update.kind === 'unchanged') return;
    if (update.kind === 'invalid') {
      this.invalidNewest = true;
      this.updateErrors.inc();
      if (!update.repeated) this.log.error(`invalid configuration, keeping the last valid one: ${update.message}`, { stale: true });
      return;
    }
    this.invalidNewest = false;
    if (update.config.pools.length === 0) {
      if (this.config === undefined) {
        this.log.warn('the configuration has no address pool: nothing to announce, waiting for one');
        return;
      }
      if (!this.holdingForEmpty) {
        this.log.warn(
          'the configuration has no address pool any more (ConfigMap deleted, CRs or CRDs removed?): keeping the last valid one and its announcements until a pool is configured',
          {
            stale: true,
            pools: this.config.pools.map((p) => p.name),
          },
        );
      }
      this.holdingForEmpty = true;
      return;
    }
    const wasHolding = this.holdingForEmpty;
    this.holdingForEmpty = false;
    this.config = update.config;
    this.log.info(update.recovered || wasHolding ? 'configuration valid again, applied' : 'configuration loaded', {
      pools: update.config.pools.map((p) => `${p.name}(${p.cidrs.map((c) => c.toString()).join(',')})`),
      l2Advertisements: update.config.l2Advertisements.map((a) => a.name),
    });
    this.reconcileAll();
  }

  /**
   * The announcer's interfaces changed (a link appeared or went): re-evaluates the Services whose
   * L2Advertisement names interfaces, so one that found none of them gets announced when one appears
   * and one that lost all of them is withdrawn (interfacesMissing) instead of counted as announced.
   */
  interfacesChanged(): void {
    if (!this.active) return;
    const keys = new Set(this.failed);
    for (const [key, a] of this.announced) if (a.interfaces.length > 0) keys.add(key);
    this.pass(keys);
  }

  /** Withdraws everything (stop answering) and ignores further updates. */
  shutdown(): void {
    if (this.gateTimer !== undefined) this.timers.clearTimeout(this.gateTimer);
    this.dirty.clear();
    this.noted.clear();
    for (const key of [...this.announced.keys()]) this.withdraw(key, 'shutdown', 'the speaker is stopping');
    this.stopped = true;
  }

  /** The interfaces this node announces a Service on ([] = all), undefined when it does not announce it. */
  announcedInterfaces(key: string): readonly string[] | undefined {
    return this.announced.get(key)?.interfaces;
  }

  /** The core is active and the Service is not waiting in a deferred pass: announcedInterfaces() is its decision. */
  decided(key: string): boolean {
    return this.active && !this.dirty.has(key);
  }

  /** Whether the Service exists in this speaker's view (noted for the deferred pass included). */
  hasService(key: string): boolean {
    return this.services.has(key) || this.noted.has(key);
  }

  /** Service key → announced IPs (for diagnostics and tests). */
  announcements(): Map<string, readonly string[]> {
    return new Map([...this.announced].map(([k, v]) => [k, v.ips]));
  }

  // ---- decisions ---------------------------------------------------------------------------

  private reconcileAll(): void {
    if (!this.active) return;
    this.pass(new Set([...this.services.keys(), ...this.announced.keys()]));
  }

  /** Decides `keys` now, or (with `defer`) marks them for the deferred pass. */
  private pass(keys: ReadonlySet<string>): void {
    const defer = this.options.defer;
    if (!defer) {
      for (const key of keys) this.reconcileSafely(key);
      return;
    }
    for (const key of keys) this.markDirty(key);
  }

  /** Marks one Service for the deferred pass and schedules the pass (callers check `defer`). */
  private markDirty(key: string): void {
    this.dirty.add(key);
    if (!this.passScheduled && this.options.defer) {
      this.passScheduled = true;
      this.options.defer(() => this.passSlice());
    }
  }

  /** Decides the next slice of the deferred pass; schedules the rest. */
  private passSlice(): void {
    this.passScheduled = false;
    const now = this.options.now ?? performance.now.bind(performance);
    const deadline = now() + (this.options.passBudgetMs ?? 5);
    let n = 0;
    for (const key of this.dirty) {
      if (n++ >= (this.options.passSlice ?? 100)) break;
      this.reconcileSafely(key); // deletes key from dirty
      if (now() >= deadline) break;
    }
    if (this.dirty.size > 0 && this.options.defer && this.active) {
      this.passScheduled = true;
      this.options.defer(() => this.passSlice());
    }
  }

  private endpointsOf(key: string): EndpointView[] {
    return [...(this.endpointsBySvc.get(key)?.values() ?? [])].flat();
  }

  private handles(info: ServiceInfo): boolean {
    return info.lbClass === (this.options.lbClass ?? '');
  }

  private decision(key: string): Decision | { announce: false; reason: CoreWithdrawReason; detail: string } {
    const svc = this.services.get(key);
    const config = this.config as Config;
    if (svc && !this.handles(svc.info)) {
      return {
        announce: false,
        reason: 'otherLoadBalancerClass',
        detail: `spec.loadBalancerClass '${svc.info.lbClass}' is not handled by this speaker (--lb-class '${this.options.lbClass ?? ''}')`,
      };
    }
    return decide({
      myNode: this.options.node,
      service: svc?.info.view,
      endpoints: this.endpointsOf(key),
      config,
      nodes: this.nodes,
      members: this.members,
      ignoreExcludeLb: this.options.ignoreExcludeLb ?? false,
      candidateCache: this.candidateCache,
    });
  }

  /**
   * A pass over many Services runs inside memberlist / announcer callbacks or a deferred slice: one
   * Service whose announcement throws is logged and skipped, never ends the pass or the process.
   */
  private reconcileSafely(key: string): void {
    try {
      this.reconcile(key);
    } catch (e) {
      this.dirty.delete(key);
      // Drop the references the failed attempt may have taken, or the IP would outlive the Service.
      const kept = this.announced.get(key)?.ips ?? [];
      for (const [ip, users] of this.ipUsers) {
        if (!users.has(key) || kept.includes(ip)) continue;
        try {
          this.removeUser(ip, key);
        } catch {
          // the announcer failed again; the reference is gone all the same
        }
      }
      this.updateErrors.inc();
      this.log.error(`deciding the Service failed: ${errorText(e)}`, { service: key });
    }
  }

  private reconcile(key: string): void {
    if (!this.active) return;
    const obj = this.noted.get(key);
    if (obj !== undefined) {
      this.noted.delete(key);
      this.dirty.delete(key);
      this.storeService(obj); // decides it (a nested reconcile of the same key, with the object now parsed)
      return;
    }
    this.dirty.delete(key);
    const d = this.decision(key);
    const current = this.announced.get(key);
    if (!d.announce) {
      this.failed.delete(key);
      if (current) this.withdraw(key, d.reason, d.detail);
      else this.log.debug('not announcing', { service: key, reason: d.reason, detail: d.detail });
      return;
    }
    if (current && !sameList(current.ips, d.ips)) {
      this.withdraw(key, 'loadBalancerIPChanged', `the Service's IPs changed from ${current.ips.join(', ')} to ${d.ips.join(', ')}`);
    }
    // The announcer gets the interfaces the L2Advertisement names, present or not: one that appears
    // later is answered on as soon as the announcer opens it (interfacesChanged() covers "none yet").
    const interfaces = d.interfaces;
    let shown = interfaces;
    if (interfaces.length > 0) {
      const present = new Set(this.options.announcer.interfaces());
      shown = interfaces.filter((i) => present.has(i));
      if (shown.length === 0) {
        const message = `the interfaces ${d.interfaces.join(', ')} specified for ${d.ips.join(', ')} do not exist on node ${this.options.node} (protocol layer2)`;
        if (this.announced.has(key)) this.withdraw(key, 'interfacesMissing', message);
        if (!this.failed.has(key)) {
          this.failed.add(key);
          this.log.warn('announce failed', { service: key, ips: d.ips, detail: message });
          this.emitEvent(key, 'Warning', 'announceFailed', message);
        }
        return;
      }
    }
    this.failed.delete(key);
    const before = this.announced.get(key);
    for (const ip of d.ips) this.addUser(ip, key, interfaces);
    this.announced.set(key, { ips: d.ips, interfaces });
    if (!before || !sameList(before.interfaces, interfaces)) this.options.onAnnouncementChanged?.(key);
    if (before) {
      // still ours: no log, no event (MetalLB records nodeAssigned on every reconcile)
      if (this.reassertKeys.delete(key)) {
        this.log.info('re-announcing after a member joined', { service: key, ips: d.ips });
        for (const ip of d.ips) this.options.announcer.reassert?.(ip);
      }
      return;
    }
    this.log.info('announcing', {
      service: key,
      ips: d.ips,
      node: this.options.node,
      interfaces: shown.length > 0 ? [...shown] : this.options.announcer.interfaces(),
      pool: d.pool,
      order: d.order,
    });
    for (const ip of d.ips) for (const g of this.gauges) g.set({ service: key, protocol: 'layer2', node: this.options.node, ip }, 1);
    this.emitEvent(key, 'Normal', 'nodeAssigned', `announcing from node "${this.options.node}" with protocol "layer2"`);
  }

  private withdraw(key: string, reason: string, detail: string): void {
    this.reassertKeys.delete(key);
    const cur = this.announced.get(key);
    if (!cur) return;
    this.announced.delete(key);
    for (const ip of cur.ips) {
      this.removeUser(ip, key);
      for (const g of this.gauges) g.remove({ service: key, protocol: 'layer2', node: this.options.node, ip });
    }
    this.log.info('withdrawn', { service: key, ips: cur.ips, reason, detail });
    this.options.onAnnouncementChanged?.(key);
  }

  private addUser(ip: string, key: string, interfaces: readonly string[]): void {
    let users = this.ipUsers.get(ip);
    if (!users) this.ipUsers.set(ip, (users = new Map()));
    users.set(key, interfaces);
    this.options.announcer.announce(ip, unionOf(users));
  }

  private removeUser(ip: string, key: string): void {
    const users = this.ipUsers.get(ip);
    if (!users) return;
    users.delete(key);
    if (users.size > 0) {
      this.options.announcer.announce(ip, unionOf(users)); // another Service still shares it
      return;
    }
    this.ipUsers.delete(ip);
    this.options.announcer.withdraw(ip);
  }

  /** A Warning Event on every Service this node announces `ip` for (a conflict seen on the wire, say). */
  warnAnnounced(ip: string, reason: string, message: string): void {
    for (const key of this.ipUsers.get(ip)?.keys() ?? []) this.emitEvent(key, 'Warning', reason, message);
  }

  private emitEvent(key: string, type: 'Normal' | 'Warning', reason: string, message: string): void {
    const svc = this.services.get(key);
    if (!svc || !this.options.event) return;
    try {
      this.options.event(svc.id, type, reason, message);
    } catch (e) {
      this.log.warn('recording an event failed', { service: key, reason, error: errorText(e) });
    }
  }
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** The interfaces an IP shared by several Services is answered on: all of them if any Service wants all. */
function unionOf(users: ReadonlyMap<string, readonly string[]>): string[] {
  const lists = [...users.values()];
  if (lists.some((l) => l.length === 0)) return [];
  return [...new Set(lists.flat())].sort();
}
