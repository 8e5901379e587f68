export { ensureConsoleAuthToken } from './auth-token.ts';
export { startConsoleServer, type ConsoleServer, type ConsoleServerOptions } from './server.ts';
