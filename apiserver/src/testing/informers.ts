// Ready-made informers for what l2lb watches. All share the restart/backoff/relist behaviour of Informer.

import type { KubeClient } from '@l2lb/shared/kube/client';
import { chooseEndpointsSource } from '@l2lb/shared/kube/discovery';
import { Informer, type InformerOptions } from '@l2lb/shared/kube/informer';
import { Resources, type KubeObject, type ResourceRef, type Service } from '@l2lb/shared/kube/types';

/** Options every factory accepts (logger, registry, backoff, timeouts...). */
export type CommonInformerOptions = Omit<InformerOptions, 'resource' | 'namespace' | 'labelSelector' | 'fieldSelector'>;

function make<T extends KubeObject>(
  client: KubeClient,
  resource: ResourceRef,
  o: CommonInformerOptions,
  filter: Pick<InformerOptions, 'namespace' | 'labelSelector' | 'fieldSelector'> = {},
): Informer<T> {
  return new Informer<T>(client, { ...o, resource, ...filter });
}

export function serviceInformer(client: KubeClient, o: CommonInformerOptions & { namespace?: string; labelSelector?: string } = {}): Informer<Service> {
  const { namespace, labelSelector, ...rest } = o;
  return make<Service>(client, Resources.services, rest, { ...(namespace ? { namespace } : {}), ...(labelSelector ? { labelSelector } : {}) });
}

export function nodeInformer(client: KubeClient, o: CommonInformerOptions & { labelSelector?: string } = {}): Informer {
  const { labelSelector, ...rest } = o;
  return make(client, Resources.nodes, rest, labelSelector ? { labelSelector } : {});
}

export function namespaceInformer(client: KubeClient, o: CommonInformerOptions = {}): Informer {
  return make(client, Resources.namespaces, o);
}

/** Pods matching a label selector, optionally in one namespace and/or on one node (spec.nodeName). */
export function podInformer(client: KubeClient, o: CommonInformerOptions & { labelSelector: string; namespace?: string; nodeName?: string }): Informer {
  const { labelSelector, namespace, nodeName, ...rest } = o;
  return make(client, Resources.pods, rest, {
    labelSelector,
    ...(namespace ? { namespace } : {}),
    ...(nodeName ? { fieldSelector: `spec.nodeName=${nodeName}` } : {}),
  });
}

/** One ConfigMap by name (a field selector on metadata.name: the cache holds 0 or 1 object). */
export function configMapInformer(client: KubeClient, namespace: string, name: string, o: CommonInformerOptions = {}): Informer {
  return make(client, Resources.configMaps, o, { namespace, fieldSelector: `metadata.name=${name}` });
}

/** One Secret by name. */
export function secretInformer(client: KubeClient, namespace: string, name: string, o: CommonInformerOptions = {}): Informer {
  return make(client, Resources.secrets, o, { namespace, fieldSelector: `metadata.name=${name}` });
}

/** A metallb.io custom resource kind in one namespace (e.g. Resources.ipAddressPools). */
export function customResourceInformer(client: KubeClient, resource: ResourceRef, namespace: string, o: CommonInformerOptions = {}): Informer {
  return make(client, resource, o, { namespace });
}

/**
 * Endpoints of Services: discovery.k8s.io/v1 EndpointSlices, else v1beta1 (Kubernetes 1.20), else core/v1
 * Endpoints. `kind` tells the consumer which object shape it will see.
 */
export async function endpointsInformer(
  client: KubeClient,
  o: CommonInformerOptions & { namespace?: string } = {},
): Promise<{ kind: 'EndpointSlice' | 'Endpoints'; informer: Informer }> {
  const src = await chooseEndpointsSource(client);
  const { namespace, ...rest } = o;
  return { kind: src.kind, informer: make(client, src.resource, rest, namespace ? { namespace } : {}) };
}
