import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import { KubeConfig } from '@kubernetes/client-node';
import { adminUser, componentUsers, generateLocalPki, type LocalPki } from './certs.ts';
import { contextName, kubeconfigYaml } from './kubeconfig.ts';

describe('local cluster PKI and kubeconfig', () => {
  let pki: LocalPki;
  before(async () => {
    pki = await generateLocalPki();
  });

  it('issues the serving and admin certificates from one CA', () => {
    const ca = new X509Certificate(pki.caCert);
    assert.equal(ca.ca, true);
    for (const pem of [pki.serverCert, pki.adminCert]) {
      const c = new X509Certificate(pem);
      assert.ok(c.verify(ca.publicKey));
      assert.equal(c.ca, false);
    }
  });

  it('serves 127.0.0.1, ::1 and localhost', () => {
    const c = new X509Certificate(pki.serverCert);
    assert.equal(c.checkIP('127.0.0.1'), '127.0.0.1');
    assert.ok(c.checkIP('::1'));
    assert.equal(c.checkHost('localhost'), 'localhost');
    assert.deepEqual(c.keyUsage, ['1.3.6.1.5.5.7.3.1']); // serverAuth
  });

  it('makes the admin a member of system:masters, for client auth only', () => {
    const c = new X509Certificate(pki.adminCert);
    assert.match(c.subject, new RegExp(`CN=${adminUser.name}`));
    assert.match(c.subject, /O=system:masters/);
    assert.deepEqual(c.keyUsage, ['1.3.6.1.5.5.7.3.2']); // clientAuth
  });

  it('gives the controller manager and the scheduler the users Kubernetes bootstraps roles for', () => {
    const ca = new X509Certificate(pki.caCert);
    const cases = [
      [pki.controllerManager.cert, 'CN=system:kube-controller-manager'],
      [pki.scheduler.cert, 'CN=system:kube-scheduler'],
      [pki.kwok.cert, `CN=${componentUsers.kwok}`],
    ] as const;
    for (const [pem, cn] of cases) {
      const c = new X509Certificate(pem);
      assert.ok(c.verify(ca.publicKey));
      assert.match(c.subject, new RegExp(cn));
      assert.deepEqual(c.keyUsage, ['1.3.6.1.5.5.7.3.2']);
    }
    assert.doesNotMatch(new X509Certificate(pki.scheduler.cert).subject, /system:masters/);
    const serving = new X509Certificate(pki.componentServing.cert);
    assert.equal(serving.checkIP('127.0.0.1'), '127.0.0.1');
    assert.deepEqual(serving.keyUsage, ['1.3.6.1.5.5.7.3.1']);
  });

  it('pairs each key with its certificate, and the service-account keys with each other', () => {
    for (const [cert, key] of [
      [pki.caCert, pki.caKey],
      [pki.serverCert, pki.serverKey],
      [pki.adminCert, pki.adminKey],
      [pki.controllerManager.cert, pki.controllerManager.key],
      [pki.componentServing.cert, pki.componentServing.key],
    ] as const) {
      assert.ok(new X509Certificate(cert).checkPrivateKey(createPrivateKey(key)));
    }
    const data = Buffer.from('token');
    const sig = sign('sha256', data, createPrivateKey(pki.serviceAccountKey));
    assert.ok(verify('sha256', data, createPublicKey(pki.serviceAccountPub), sig));
  });

  it('writes a kubeconfig client-node loads, certificates inline', () => {
    const kc = new KubeConfig();
    kc.loadFromString(
      kubeconfigYaml({
        server: 'https://127.0.0.1:6443',
        caCert: pki.caCert,
        clientCert: pki.adminCert,
        clientKey: pki.adminKey,
      }),
    );
    assert.equal(kc.getCurrentContext(), contextName);
    assert.equal(kc.getCurrentCluster()?.server, 'https://127.0.0.1:6443');
    assert.equal(
      Buffer.from(kc.getCurrentCluster()?.caData ?? '', 'base64').toString(),
      pki.caCert,
    );
    assert.equal(
      Buffer.from(kc.getCurrentUser()?.certData ?? '', 'base64').toString(),
      pki.adminCert,
    );
  });
});
