import type { HookSet } from '../agent.ts';
import { installChannelHooks } from './channels.ts';
import { installCryptoHooks, installEncodingHooks } from './crypto.ts';
import { installDataSourceHooks, installIdentifierHooks } from './identifiers.ts';
import { installJavaNetworkHooks } from './network-java.ts';
import { installNativeNetworkHooks } from './network-native.ts';

export const networkSet: HookSet = {
  name: 'network',
  java: installJavaNetworkHooks,
  native: installNativeNetworkHooks,
};

export const cryptoSet: HookSet = {
  name: 'crypto',
  java: (context) => {
    installCryptoHooks(context);
    installEncodingHooks(context);
  },
};

export const sourcesSet: HookSet = {
  name: 'sources',
  java: (context) => {
    installIdentifierHooks(context, { report: true, spoof: false });
    installDataSourceHooks(context);
  },
};

export const channelsSet: HookSet = { name: 'channels', java: installChannelHooks };

export const identitySet: HookSet = {
  name: 'identity',
  java: (context) => installIdentifierHooks(context, { report: false, spoof: true }),
};

/** Everything, with identifier reads both reported and answered with canaries. */
export const allSets: HookSet[] = [
  networkSet,
  cryptoSet,
  channelsSet,
  {
    name: 'sources+identity',
    java: (context) => {
      installIdentifierHooks(context, { report: true, spoof: true });
      installDataSourceHooks(context);
    },
  },
];
