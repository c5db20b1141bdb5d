export { EmbeddedApiServer, type ApiServerOptions, type RequestRecord } from './server.js';
export { Api } from './api.js';
export { Store } from './store.js';
export { renderKubeconfig } from './kubeconfig.js';
export { selfSignedCert } from './tls.js';
