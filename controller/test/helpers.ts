import { parseConfigMapConfig, parseMetalLBResources, IP, type AddressPool, type IPFamily } from '@l2lb/shared';
import type { ServiceRequest } from '../src/allocator/allocator.js';

/** Pools from legacy ConfigMap pool entries. */
export function cmPools(...pools: { name: string; addresses: string[]; 'auto-assign'?: boolean; 'avoid-buggy-ips'?: boolean }[]): AddressPool[] {
  const yaml = JSON.stringify({ 'address-pools': pools.map((p) => ({ protocol: 'layer2', ...p })) });
  return [...parseConfigMapConfig(yaml).pools];
}

export function crdPool(name: string, spec: Record<string, unknown>, labels: Record<string, string> = {}): unknown {
  return { apiVersion: 'metallb.io/v1beta1', kind: 'IPAddressPool', metadata: { name, namespace: 'l2lb-system', labels }, spec };
}

export function crdPools(...resources: unknown[]): AddressPool[] {
  return [...parseMetalLBResources(resources).pools];
}

export function ip(text: string): IP {
  const parsed = IP.parse(text);
  if (parsed === undefined) throw new Error(`bad IP ${text}`);
  return parsed;
}

export function req(name: string, overrides: Partial<ServiceRequest> = {}): ServiceRequest {
  const namespace = overrides.namespace ?? 'default';
  return {
    key: `${namespace}/${name}`,
    namespace,
    labels: {},
    namespaceLabels: {},
    families: [4] as IPFamily[],
    policy: 'SingleStack',
    ports: [{ protocol: 'TCP', port: 80 }],
    sharingKey: '',
    backendKey: '',
    ...overrides,
  };
}

/** Waits until cond() is truthy (polling), or throws after timeoutMs naming what was awaited. */
export async function waitFor<T>(
  cond: () => T | Promise<T>,
  options: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + (options.timeoutMs ?? 5000);
  let last: unknown;
  for (;;) {
    try {
      const value = await cond();
      if (value !== undefined && value !== null && value !== false) return value as NonNullable<T>;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${options.timeoutMs ?? 5000} ms waiting for ${options.what ?? 'condition'}${last instanceof Error ? ` (last error: ${last.message})` : ''}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 25));
  }
}
