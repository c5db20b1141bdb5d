export { EmbeddedApiServer, type ApiServerOptions, type RequestRecord } from './server.js';
export { Api, type ApiOptions } from './api.js';
export { metallbCrds } from './resources.js';
export { Store } from './store.js';
export { renderKubeconfig } from './kubeconfig.js';
export { selfSignedCert } from './tls.js';
