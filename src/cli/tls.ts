// TLS for the two ports, from the node's configuration: the files are read
// and checked once at start, so a wrong path or a key that does not match its
// certificate stops the node with one line naming the file, rather than
// failing each handshake later. Clients: Redis 6's model (a TLS listener
// beside the plain one; tls-auth-clients decides whether a client must show
// a certificate the CA signed). Peers: with --tls-cluster yes the peer port
// speaks only TLS and both sides must show a CA-signed certificate; names
// are not checked (peers dial addresses from gossip, and certificates need
// not list them): the private CA is what admits a node, the cluster secret
// (peer/handshake.ts) still checked inside the tunnel.

import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import { ConfigError, type NodeConfig } from './config.js';

export interface TlsSetup {
  /** Options of the client-facing TLS listener; undefined without --tls-port. */
  readonly clients: tls.TlsOptions | undefined;
  /** Options of the peer listener and of dialling peers; undefined unless --tls-cluster yes. */
  readonly peers: { readonly server: tls.TlsOptions; readonly client: tls.ConnectionOptions } | undefined;
}

/**
 * TLS 1.2 at least: 1.0 and 1.1 are deprecated (RFC 8996). Redis's default
 * tls-protocols is "TLSv1.2 TLSv1.3" too.
 */
const minVersion: tls.SecureVersion = 'TLSv1.2';

export function tlsSetup(config: NodeConfig): TlsSetup {
  const wantClients = config.tlsPort !== undefined;
  const wantPeers = config.tlsCluster === 'yes';
  if (!wantClients && !wantPeers) return { clients: undefined, peers: undefined };
  const cert = readPem(config.tlsCertFile!, '--tls-cert-file');
  const key = readPem(config.tlsKeyFile!, '--tls-key-file');
  const ca = config.tlsCaCertFile === undefined ? undefined : readPem(config.tlsCaCertFile, '--tls-ca-cert-file');
  try {
    tls.createSecureContext({ cert, key, ca, minVersion });
  } catch (err) {
    throw new ConfigError(`TLS files refused (--tls-cert-file ${config.tlsCertFile}, --tls-key-file ${config.tlsKeyFile}): ${(err as Error).message}`);
  }
  const clients: tls.TlsOptions | undefined = !wantClients ? undefined : {
    cert, key, minVersion,
    ...(ca === undefined ? {} : { ca }),
    requestCert: config.tlsAuthClients !== 'no',
    rejectUnauthorized: config.tlsAuthClients === 'yes',
  };
  const peers = !wantPeers ? undefined : {
    server: { cert, key, ca, minVersion, requestCert: true, rejectUnauthorized: true },
    client: { cert, key, ca, minVersion, rejectUnauthorized: true, checkServerIdentity: noNameCheck },
  };
  return { clients, peers };
}

function readPem(file: string, flag: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new ConfigError(`${flag} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** Peers are admitted by the CA's signature, not by the name in the certificate (see the header). */
function noNameCheck(): undefined {
  return undefined;
}
