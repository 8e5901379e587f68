import { isIPv4 } from 'node:net';
import type { Behaviour } from '../../android/lab-image.ts';
import { encodesToDnsLabels, encodesToText } from './encode.ts';

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** A host name, which an IPv4 literal also matches; the sends tell the two apart by isIP. */
const HOST_NAME =
  /^(?=.{1,253}$)[A-Za-z0-9_]([A-Za-z0-9_-]{0,62})(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,62}))*\.?$/;

type Send = Behaviour['send'];
type HttpSend = Extract<Send, { channel: 'http' | 'https' }>;

/** What in a behaviour's send cannot run, one sentence a problem. */
export function sendProblems(behaviour: Behaviour): string[] {
  const send = behaviour.send;
  switch (send.channel) {
    case 'http':
    case 'https':
      return httpProblems(behaviour, send);
    case 'tcp':
    case 'udp':
      return [...hostProblems(send.host), ...portProblems(send.port)];
    case 'icmp':
      return [
        ...(isIPv4(send.host) ? [] : [`send.host "${send.host}" is not an IPv4 address`]),
        ...(behaviour.serialize === 'values'
          ? []
          : [
              'the icmp channel carries at most 16 bytes: collect one short item with serialize "values"',
            ]),
      ];
    case 'dns':
      return [
        ...zoneProblems(behaviour, send.zone),
        ...(send.resolver === undefined || isIPv4(send.resolver)
          ? []
          : [`send.resolver "${send.resolver}" is not an IPv4 address`]),
      ];
    case 'doh':
      return [
        ...hostProblems(send.host),
        ...portProblems(send.port),
        ...pathProblems(send.path),
        ...zoneProblems(behaviour, send.zone),
      ];
    case 'sms':
      return send.destination.trim() === '' ? ['send.destination is empty'] : [];
  }
}

function httpProblems(behaviour: Behaviour, send: HttpSend): string[] {
  const problems = [
    ...hostProblems(send.host),
    ...pathProblems(send.path),
    ...portProblems(send.port),
  ];
  if ((send.carry.as === 'form' || send.carry.as === 'json') && !encodesToText(behaviour.encode)) {
    problems.push(
      `carry "${send.carry.as}" needs a text payload: end the encode steps with base64 or hex`,
    );
  }
  if (send.carry.as === 'form') {
    if (send.carry.field === '') problems.push('carry "form" needs a field name');
    for (const name of Object.keys(send.carry.fields ?? {})) {
      if (name === '') problems.push('carry.fields has an empty field name');
      if (name === send.carry.field)
        problems.push(`carry.fields repeats the payload field "${name}"`);
    }
  }
  if (send.carry.as === 'query' && behaviour.encode.length > 0) {
    problems.push(
      'carry "query" sends the collected fields unencoded: remove the encode steps or carry the payload otherwise',
    );
  }
  for (const [name, value] of Object.entries(send.headers ?? {})) {
    if (!HEADER_NAME.test(name)) problems.push(`header name "${name}" is not an HTTP token`);
    if (/[\r\n]/.test(value)) problems.push(`header "${name}" has a line break in its value`);
    if (name.toLowerCase() === 'content-length')
      problems.push('Content-Length is computed from the body: remove it from send.headers');
  }
  if (send.quic === true && send.channel !== 'https')
    problems.push('quic applies to https only: HTTP/3 is always encrypted');
  if (send.pin !== undefined && send.channel !== 'https')
    problems.push('pin applies to https only: plain HTTP has no certificate to pin');
  return problems;
}

function hostProblems(host: string): string[] {
  return HOST_NAME.test(host) ? [] : [`send.host "${host}" is not a host name or IPv4 address`];
}

function portProblems(port: number | undefined): string[] {
  return port !== undefined && port > 65535 ? [`send.port ${port} is not a port`] : [];
}

function pathProblems(path: string): string[] {
  return /[\s#]/.test(path) ? [`send.path "${path}" has a space or a fragment`] : [];
}

function zoneProblems(behaviour: Behaviour, zone: string): string[] {
  const problems: string[] = [];
  if (!HOST_NAME.test(zone)) problems.push(`send.zone "${zone}" is not a DNS name`);
  if (!encodesToDnsLabels(behaviour.encode)) {
    problems.push(
      `the ${behaviour.send.channel} channel needs DNS-safe text: end the encode steps with hex or URL-safe base64`,
    );
  }
  return problems;
}
