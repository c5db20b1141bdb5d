// MetalLB's ConfigurationState (metallb.io/v1beta1, api/v1beta1/configurationstate_types.go on metallb main):
// one object per component saying whether the configuration it reads is valid. The controller writes
// `controller`, each speaker `speaker-<node>`, labelled `metallb.io/component-type` (and
// `metallb.io/node-name` for a speaker), in the component's namespace. Status only: result
// (Valid/Invalid/Unknown), errorSummary, and one condition (MetalLB's `configReconcilerValid`).
//
// The writer is coalesced and off every critical path: report() only records the newest verdict and
// arms a timer; one write is in flight at a time and carries the newest verdict. An API error is
// logged and counted and retried with backoff, never fatal.
import { errorText, type Logger } from '../log.js';
import { realTimers, type ConfigurationVerdict, type SourceTimers } from './config-source.js';
import { isApiError, type KubeClient } from './client.js';
import { Resources } from './types.js';
import { Counter, type Registry } from 'prom-client';

export const COMPONENT_TYPE_LABEL = 'metallb.io/component-type';
export const NODE_NAME_LABEL = 'metallb.io/node-name';
/** MetalLB's condition type for the configuration reconciler, and its reasons. */
export const CONDITION_CONFIG_VALID = 'configReconcilerValid';

export type ComponentType = 'controller' | 'speaker';

/** MetalLB's object name and labels for a component. */
export function configurationStateIdentity(component: ComponentType, node?: string): { name: string; labels: Record<string, string> } {
  if (component === 'controller') return { name: 'controller', labels: { [COMPONENT_TYPE_LABEL]: 'controller' } };
  if (node === undefined || node === '') throw new Error('a speaker ConfigurationState needs the node name');
  return { name: `speaker-${node}`, labels: { [COMPONENT_TYPE_LABEL]: 'speaker', [NODE_NAME_LABEL]: node } };
}

export interface ConfigurationStateStatus {
  readonly result: 'Valid' | 'Invalid' | 'Unknown';
  /** Merge patch: null removes the field (MetalLB leaves it empty when valid). */
  readonly errorSummary: string | null;
  readonly conditions: readonly {
    readonly type: string;
    readonly status: 'True' | 'False';
    readonly reason: string;
    readonly message: string;
    readonly lastTransitionTime: string;
  }[];
}

/** The status MetalLB's reconcilers would write for this verdict. */
export function configurationStateStatus(verdict: ConfigurationVerdict, now: Date): ConfigurationStateStatus {
  const valid = verdict.result === 'Valid';
  return {
    result: verdict.result,
    errorSummary: valid ? null : verdict.errorSummary,
    conditions: [
      {
        type: CONDITION_CONFIG_VALID,
        status: valid ? 'True' : 'False',
        reason: valid ? 'Reconciled' : 'ConfigurationError',
        // MetalLB leaves the message empty when valid; kube-apiserver < 1.21 built with Go >= 1.16 turns "" in a
        // custom resource into null and refuses it (kubernetes/kubernetes#99804), so it says so. No pool: says that.
        message: valid
          ? verdict.noConfiguration !== undefined
            ? `no configuration: ${verdict.noConfiguration}`
            : 'the configuration is valid'
          : verdict.errorSummary,
        lastTransitionTime: now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      },
    ],
  };
}

/** The two API calls the writer makes (a KubeClient fits through configurationStateApi()). */
export interface ConfigurationStateApi {
  /** Merge patch of the status subresource; rejects with an HTTP status (404: no such object). */
  patchStatus(namespace: string, name: string, status: ConfigurationStateStatus): Promise<unknown>;
  create(namespace: string, name: string, labels: Record<string, string>): Promise<unknown>;
}

export interface ConfigurationStateWriterOptions {
  readonly api: ConfigurationStateApi;
  readonly namespace: string;
  readonly component: ComponentType;
  readonly node?: string;
  readonly logger: Logger;
  readonly timers?: SourceTimers;
  readonly now?: () => Date;
  /** Tells an HTTP status from an error (404 → create, 409 on create → someone else did). */
  readonly statusOf: (e: unknown) => number | undefined;
  /** Counted once per failed write. */
  readonly onError?: (e: unknown) => void;
  /** After a failure the next try waits this long, doubling up to maxRetryMs (defaults 1 s, 30 s). */
  readonly retryMs?: number;
  readonly maxRetryMs?: number;
}

export class ConfigurationStateWriter {
  readonly name: string;
  private readonly labels: Record<string, string>;
  private readonly timers: SourceTimers;
  private newest: ConfigurationVerdict | undefined;
  /** The verdict last written successfully (JSON), to skip identical writes. */
  private written: string | undefined;
  private timer: unknown;
  private inFlight: Promise<void> | undefined;
  private failures = 0;
  private started = false;
  private stopped = false;
  /** Writes done (tests, logs). */
  writes = 0;
  errors = 0;

  constructor(private readonly options: ConfigurationStateWriterOptions) {
    const identity = configurationStateIdentity(options.component, options.node);
    this.name = identity.name;
    this.labels = identity.labels;
    this.timers = options.timers ?? realTimers;
  }

  /** Records the newest verdict; written on a later turn (never inside the caller's work). */
  report(verdict: ConfigurationVerdict): void {
    this.newest = verdict;
    this.schedule(0);
  }

  /** Writing may begin (the first verdict is the one after the informers synced). */
  start(): void {
    this.started = true;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
    await this.inFlight;
  }

  /** Resolves when nothing is pending or in flight (tests). */
  get idle(): boolean {
    return this.timer === undefined && this.inFlight === undefined && (this.newest === undefined || JSON.stringify(this.newest) === this.written);
  }

  private schedule(ms: number): void {
    if (!this.started || this.stopped || this.timer !== undefined || this.inFlight !== undefined) return;
    if (this.newest === undefined || JSON.stringify(this.newest) === this.written) return;
    this.timer = this.timers.setTimeout(() => {
      this.timer = undefined;
      this.inFlight = this.write().finally(() => {
        this.inFlight = undefined;
        const delay = this.failures === 0 ? 0 : Math.min(this.options.maxRetryMs ?? 30_000, (this.options.retryMs ?? 1000) * 2 ** (this.failures - 1));
        this.schedule(delay);
      });
    }, ms);
  }

  private async write(): Promise<void> {
    const verdict = this.newest;
    if (verdict === undefined) return;
    const { api, namespace } = this.options;
    const status = configurationStateStatus(verdict, (this.options.now ?? (() => new Date()))());
    try {
      try {
        await api.patchStatus(namespace, this.name, status);
      } catch (e) {
        if (this.options.statusOf(e) !== 404) throw e;
        // Not there yet (first start, or deleted): create it, then set its status (create ignores status).
        try {
          await api.create(namespace, this.name, this.labels);
        } catch (ce) {
          if (this.options.statusOf(ce) !== 409) throw ce;
        }
        await api.patchStatus(namespace, this.name, status);
      }
      this.written = JSON.stringify(verdict);
      this.writes += 1;
      if (this.failures > 0) this.options.logger.info(`ConfigurationState ${namespace}/${this.name} written again after ${this.failures} failed attempts`);
      this.failures = 0;
      this.options.logger.debug(`ConfigurationState ${namespace}/${this.name}: ${verdict.result}`, { errorSummary: verdict.errorSummary });
    } catch (e) {
      this.failures += 1;
      this.errors += 1;
      this.options.onError?.(e);
      // Once per streak at warn, then debug: a missing CRD must not flood the log.
      const log = this.failures === 1 ? this.options.logger.warn.bind(this.options.logger) : this.options.logger.debug.bind(this.options.logger);
      log(`cannot write ConfigurationState ${namespace}/${this.name} (retrying): ${errorText(e)}`);
    }
  }
}

/** The writer's API calls on a real client. */
export function kubeConfigurationStateApi(client: KubeClient): Pick<ConfigurationStateWriterOptions, 'api' | 'statusOf'> {
  return {
    api: {
      patchStatus: (namespace, name, status) => client.patch(Resources.configurationStates, namespace, name, { status }, 'merge', 'status'),
      create: (namespace, name, labels) =>
        client.create(Resources.configurationStates, namespace, {
          apiVersion: 'metallb.io/v1beta1',
          kind: 'ConfigurationState',
          metadata: { name, namespace, labels },
        }),
    },
    statusOf: (e) => (isApiError(e) ? e.code : undefined),
  };
}

/**
 * The writer a process runs: real API calls, failures counted in
 * l2lb_configuration_state_write_errors_total on the process's registry.
 */
export function processConfigurationStateWriter(p: {
  client: KubeClient;
  namespace: string;
  component: ComponentType;
  node?: string;
  logger: Logger;
  registry?: Registry;
}): ConfigurationStateWriter {
  const errors = new Counter({
    name: 'l2lb_configuration_state_write_errors_total',
    help: "Failed writes of this component's ConfigurationState (retried with backoff)",
    registers: p.registry ? [p.registry] : [],
  });
  return new ConfigurationStateWriter({
    ...kubeConfigurationStateApi(p.client),
    namespace: p.namespace,
    component: p.component,
    logger: p.logger,
    ...(p.node !== undefined ? { node: p.node } : {}),
    onError: () => errors.inc(),
  });
}
