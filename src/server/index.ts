/** The HTTP interface: JSON API, pages, live event streams, queue dashboard. See docs/api.md. */
export { startServer, type ServeOptions, type ServerHandle } from './server.ts';
export { loadApiToken, type ApiToken } from './api-token.ts';
export { EXPORT_FORMATS, PCAP_FILE, type ExportFormat } from './exports.ts';
