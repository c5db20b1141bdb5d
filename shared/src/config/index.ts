export * from './types.js';
export { ConfigError, formatProblem, type ConfigProblem } from './errors.js';
export { parseAddressEntry, type AddressEntry } from './addresses.js';
export { parseConfigMapConfig, parseYamlValue, MAX_CONFIG_BYTES } from './configmap.js';
export { buildConfigFromSources, parseMetalLBResources, METALLB_API_VERSION, POOL_KIND, ADVERTISEMENT_KIND, type ConfigSources } from './crd.js';
export { selectorMatches, formatSelector } from './selectors.js';
export { ConfigState, configFingerprint, eventTargets, warningTargets, type ConfigInputs, type ConfigEventTarget, type ConfigUpdate } from './state.js';
