// Certificates for the TLS tests, made by openssl in a temp dir at test time
// (nothing secret is checked in): a cluster CA, a node certificate and a
// client certificate it signed, and a rogue CA with a certificate of its own,
// which a node must refuse. EC P-256 keys: quick to make, accepted by
// OpenSSL, Node and redis-cli alike.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface CertificateSet {
  readonly dir: string;
  readonly caCert: string;
  /** Signed by caCert, for 127.0.0.1 and localhost. */
  readonly nodeCert: string;
  readonly nodeKey: string;
  /** Signed by caCert: a client's certificate. */
  readonly clientCert: string;
  readonly clientKey: string;
  /** Signed by another CA: must be refused. */
  readonly rogueCert: string;
  readonly rogueKey: string;
  readonly rogueCaCert: string;
  remove(): void;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

function newKey(dir: string, name: string): string {
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', `${name}.key`], dir);
  return path.join(dir, `${name}.key`);
}

function newCa(dir: string, name: string): string {
  newKey(dir, name);
  openssl(['req', '-x509', '-new', '-key', `${name}.key`, '-sha256', '-days', '2', '-subj', `/CN=${name}`, '-out', `${name}.crt`], dir);
  return path.join(dir, `${name}.crt`);
}

function signed(dir: string, name: string, ca: string): string {
  newKey(dir, name);
  writeFileSync(path.join(dir, `${name}.ext`), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n');
  openssl(['req', '-new', '-key', `${name}.key`, '-subj', `/CN=${name}`, '-out', `${name}.csr`], dir);
  openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-days', '2', '-sha256', '-extfile', `${name}.ext`, '-out', `${name}.crt`], dir);
  return path.join(dir, `${name}.crt`);
}

export function makeCertificates(): CertificateSet {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ringkv-tls-'));
  const caCert = newCa(dir, 'ca');
  const nodeCert = signed(dir, 'node', 'ca');
  const clientCert = signed(dir, 'client', 'ca');
  const rogueCaCert = newCa(dir, 'rogue-ca');
  const rogueCert = signed(dir, 'rogue', 'rogue-ca');
  return {
    dir, caCert, nodeCert, nodeKey: path.join(dir, 'node.key'), clientCert, clientKey: path.join(dir, 'client.key'),
    rogueCert, rogueKey: path.join(dir, 'rogue.key'), rogueCaCert,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
