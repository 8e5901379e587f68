import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { addressingFor, CAGE_INDEX_COUNT } from '../../src/capture/cage/addressing.ts';
import { findOriginalDestination, parseConntrack } from '../../src/capture/cage/conntrack.ts';
import { edgeRuleset, parseEdgeCounters } from '../../src/capture/cage/edge-rules.ts';
import { parseStartTime } from '../../src/capture/cage/owner.ts';

describe('cage addressing', () => {
  it('gives index 0 the first /30 of 198.19.0.0/16', () => {
    assert.deepEqual(addressingFor(0), {
      index: 0,
      netns: 'canarytrap-0',
      hostInterface: 'ctc0h',
      deviceInterface: 'eth0',
      gateway: '198.19.0.1',
      deviceIp: '198.19.0.2',
      prefixLength: 30,
    });
  });

  it('carries into the third octet and ends at the last /30', () => {
    assert.equal(addressingFor(63).gateway, '198.19.0.253');
    assert.equal(addressingFor(64).gateway, '198.19.1.1');
    assert.equal(addressingFor(64).deviceIp, '198.19.1.2');
    const last = addressingFor(CAGE_INDEX_COUNT - 1);
    assert.equal(last.gateway, '198.19.255.253');
    assert.equal(last.deviceIp, '198.19.255.254');
    assert.ok(last.hostInterface.length <= 15, 'Linux interface names hold at most 15 characters');
  });

  it('refuses indices outside 0..16383', () => {
    for (const index of [-1, CAGE_INDEX_COUNT, 1.5, Number.NaN]) {
      assert.throws(() => addressingFor(index), { code: 'cage-index-invalid' });
    }
  });
});

describe('cage edge ruleset', () => {
  const a = addressingFor(5);
  const ports = { tcp: 41000, dns: 41001, udp: 41002 };

  it('replaces its table in one transaction', () => {
    const [declare, remove, open] = edgeRuleset(a, ports).split('\n');
    assert.equal(declare, 'table ip canarytrap_5 {}');
    assert.equal(remove, 'delete table ip canarytrap_5');
    assert.equal(open, 'table ip canarytrap_5 {');
  });

  it('drops and counts ICMP and refuses QUIC before NAT, then redirects TCP, DNS and other UDP', () => {
    const rules = edgeRuleset(a, ports);
    const lines = rules.split('\n').map((line) => line.trim());
    const raw = chain(lines, 'edge_raw');
    assert.ok(raw.includes('type filter hook prerouting priority -300; policy accept;'));
    assert.ok(raw.includes('iifname "ctc5h" meta l4proto icmp counter name "icmp_dropped" drop'));
    assert.ok(
      raw.includes(
        'iifname "ctc5h" udp dport 443 counter name "quic_refused" reject with icmp type port-unreachable',
      ),
    );
    assert.deepEqual(chain(lines, 'edge_nat').slice(1), [
      'iifname "ctc5h" meta l4proto tcp redirect to :41000',
      'iifname "ctc5h" udp dport 53 redirect to :41001',
      'iifname "ctc5h" meta l4proto udp redirect to :41002',
    ]);
  });

  it('lets the cage reach only the capture ports, and only the cage reach them', () => {
    const lines = edgeRuleset(a, ports)
      .split('\n')
      .map((line) => line.trim());
    assert.deepEqual(chain(lines, 'edge_input').slice(1), [
      'iifname "ctc5h" tcp dport 41000 accept',
      'iifname "ctc5h" udp dport { 41001, 41002 } accept',
      'iifname "ctc5h" counter name "other_dropped" drop',
      'ip daddr 198.19.0.21 tcp dport 41000 reject with tcp reset',
      'ip daddr 198.19.0.21 udp dport { 41001, 41002 } reject with icmp type port-unreachable',
    ]);
    assert.deepEqual(chain(lines, 'edge_forward').slice(1), [
      'iifname "ctc5h" counter name "other_dropped" drop',
      'oifname "ctc5h" counter name "other_dropped" drop',
    ]);
  });

  it('starts sealed: without ports nothing from the cage gets past prerouting', () => {
    const lines = edgeRuleset(a)
      .split('\n')
      .map((line) => line.trim());
    assert.deepEqual(chain(lines, 'edge_raw').slice(1), [
      'iifname "ctc5h" meta l4proto icmp counter name "icmp_dropped" drop',
      'iifname "ctc5h" counter name "other_dropped" drop',
    ]);
    assert.equal(chain(lines, 'edge_nat').length, 0);
    assert.equal(chain(lines, 'edge_input').length, 0);
  });

  it('never names an nft keyword as a chain', () => {
    const chains = [...edgeRuleset(a, ports).matchAll(/chain (\S+)/g)].map((m) => m[1]);
    assert.deepEqual(chains, ['edge_raw', 'edge_nat', 'edge_input', 'edge_forward']);
  });

  it('refuses ports that are not ports', () => {
    assert.throws(() => edgeRuleset(a, { ...ports, udp: 0 }), { code: 'cage-edge-port-invalid' });
    assert.throws(() => edgeRuleset(a, { ...ports, tcp: 70_000 }), {
      code: 'cage-edge-port-invalid',
    });
  });

  it('reads the counters from nft -j output', () => {
    const json = JSON.stringify({
      nftables: [
        { metainfo: { version: '1.0.6', json_schema_version: 1 } },
        { table: { family: 'ip', name: 'canarytrap_5', handle: 6 } },
        {
          counter: {
            family: 'ip',
            name: 'icmp_dropped',
            table: 'canarytrap_5',
            handle: 5,
            packets: 3,
            bytes: 252,
          },
        },
        {
          counter: {
            family: 'ip',
            name: 'quic_refused',
            table: 'canarytrap_5',
            handle: 6,
            packets: 1,
            bytes: 40,
          },
        },
        { chain: { family: 'ip', table: 'canarytrap_5', name: 'edge_raw', handle: 1 } },
      ],
    });
    assert.deepEqual(parseEdgeCounters(json), { icmpDropped: 3, quicRefused: 1, otherDropped: 0 });
  });
});

describe('conntrack', () => {
  const table = [
    'ipv4     2 tcp      6 119 TIME_WAIT src=198.19.0.2 dst=203.0.113.9 sport=49220 dport=4444 src=198.19.0.1 dst=198.19.0.2 sport=7777 dport=49220 [ASSURED] mark=0 zone=0 use=2',
    'ipv4     2 tcp      6 431999 ESTABLISHED src=198.19.0.2 dst=192.0.2.1 sport=49220 dport=80 src=198.19.0.1 dst=198.19.0.2 sport=7777 dport=49220 [ASSURED] mark=0 zone=0 use=2',
    'ipv4     2 udp      17 29 src=198.19.0.2 dst=198.51.100.1 sport=40001 dport=53 [UNREPLIED] src=198.19.0.1 dst=198.19.0.2 sport=7778 dport=40001 mark=0 zone=0 use=2',
    'ipv4     2 udp      17 118 src=198.19.0.6 dst=203.0.113.1 sport=40001 dport=9999 src=198.19.0.5 dst=198.19.0.6 sport=7779 dport=40001 [ASSURED] mark=0 zone=0 use=2',
    'ipv4     2 icmp     1 29 src=198.19.0.2 dst=203.0.113.1 type=8 code=0 id=7 [UNREPLIED] src=203.0.113.1 dst=198.19.0.2 type=0 code=0 id=7 mark=0 zone=0 use=2',
    'ipv6     10 udp      17 20 src=fd00::2 dst=fd00::1 sport=5353 dport=53 src=fd00::1 dst=fd00::2 sport=53 dport=5353 mark=0 zone=0 use=2',
    '',
  ].join('\n');

  it('parses both directions of TCP and UDP entries and skips ICMP and IPv6', () => {
    const entries = parseConntrack(table);
    assert.equal(entries.length, 4);
    assert.deepEqual(entries[0], {
      protocol: 'tcp',
      timeout: 119,
      state: 'TIME_WAIT',
      original: { src: '198.19.0.2', dst: '203.0.113.9', sport: 49220, dport: 4444 },
      reply: { src: '198.19.0.1', dst: '198.19.0.2', sport: 7777, dport: 49220 },
    });
    assert.equal(entries[2]?.state, undefined);
    assert.deepEqual(entries[2]?.reply, {
      src: '198.19.0.1',
      dst: '198.19.0.2',
      sport: 7778,
      dport: 40001,
    });
  });

  it('reads `conntrack -L` lines, which lack the two leading fields', () => {
    const [entry] = parseConntrack(
      'tcp      6 117 TIME_WAIT src=198.19.0.2 dst=203.0.113.9 sport=49221 dport=443 src=198.19.0.1 dst=198.19.0.2 sport=7777 dport=49221 [ASSURED] mark=0 use=1',
    );
    assert.deepEqual(entry?.original, {
      src: '198.19.0.2',
      dst: '203.0.113.9',
      sport: 49221,
      dport: 443,
    });
  });

  it('finds the original destination by client address and port, preferring the live flow', () => {
    const entries = parseConntrack(table);
    assert.deepEqual(findOriginalDestination(entries, 'tcp', { ip: '198.19.0.2', port: 49220 }), {
      ip: '192.0.2.1',
      port: 80,
    });
    assert.deepEqual(findOriginalDestination(entries, 'udp', { ip: '198.19.0.2', port: 40001 }), {
      ip: '198.51.100.1',
      port: 53,
    });
    assert.deepEqual(findOriginalDestination(entries, 'udp', { ip: '198.19.0.6', port: 40001 }), {
      ip: '203.0.113.1',
      port: 9999,
    });
    assert.equal(
      findOriginalDestination(entries, 'tcp', { ip: '198.19.0.2', port: 40001 }),
      undefined,
    );
    assert.equal(
      findOriginalDestination(entries, 'udp', { ip: '198.19.0.10', port: 40001 }),
      undefined,
    );
  });
});

describe('lock owner identity', () => {
  it('reads the start time after a command name holding spaces and parentheses', () => {
    const stat =
      '4242 (node (worker) x) S 1 4242 4242 0 -1 4194560 3301 0 0 0 12 3 0 0 20 0 11 0 987654 1234567 8910 18446744073709551615';
    assert.equal(parseStartTime(stat), '987654');
  });

  it('counts a zombie as gone', () => {
    const stat = '4242 (node) Z 1 4242 4242 0 -1 4194560 3301 0 0 0 12 3 0 0 20 0 11 0 987654 0 0';
    assert.equal(parseStartTime(stat), undefined);
  });
});

/** The lines of one chain, its `type` line first; empty when the chain is absent. */
function chain(lines: string[], name: string): string[] {
  const start = lines.indexOf(`chain ${name} {`);
  if (start < 0) return [];
  return lines.slice(start + 1, lines.indexOf('}', start));
}
