import { randomUUID } from 'node:crypto';
import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import selfsigned from 'selfsigned';

export interface ServerCertificate {
  key: string;
  cert: string;
  /** The certificate written to a temporary file, for NODE_EXTRA_CA_CERTS. */
  caFile: string;
  /** Removes the temporary directory that holds caFile. */
  dispose(): Promise<void>;
}

/** A fresh self-signed server certificate for 127.0.0.1 and localhost, valid for two days. */
export async function makeServerCertificate(): Promise<ServerCertificate> {
  const notBeforeDate = new Date(Date.now() - 60_000);
  const notAfterDate = new Date(Date.now() + 2 * 24 * 3600_000);
  // A unique subject per fake: trust stores look issuers up by subject, so two fakes must not share one.
  const subject = [
    { name: 'commonName', value: `w365-image fake cloud ${randomUUID()}` },
    { name: 'organizationName', value: 'w365-image tests' },
  ];
  const pems = await selfsigned.generate(subject, {
    keySize: 2048,
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate,
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, keyCertSign: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
        ],
      },
    ],
  });
  const dir = await mkdtemp(join(tmpdir(), 'w365-fake-cloud-'));
  const caFile = join(dir, 'ca.pem');
  await writeFile(caFile, pems.cert, { mode: 0o644 });
  return {
    key: pems.private,
    cert: pems.cert,
    caFile,
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
}
