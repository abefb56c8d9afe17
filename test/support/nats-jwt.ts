import { nkeys } from '@nats-io/transport-node';
import { createHash } from 'node:crypto';

type KeyPair = ReturnType<typeof nkeys.createOperator>;

const base64url = (data: string | Uint8Array) => Buffer.from(data).toString('base64url');
const text = (bytes: Uint8Array) => Buffer.from(bytes).toString('utf8');

/** A NATS JWT (the claims of an operator, account or user), signed by its issuer's nkey, as `nsc` would write it. */
function encodeJwt(issuer: KeyPair, subject: string, name: string, nats: Record<string, unknown>): string {
  const claims = {
    iat: Math.floor(Date.now() / 1000),
    iss: issuer.getPublicKey(),
    name,
    sub: subject,
    nats: { ...nats, version: 2 },
  };
  const jti = createHash('sha256').update(JSON.stringify(claims)).digest('hex').toUpperCase();
  const signed = `${base64url(JSON.stringify({ typ: 'JWT', alg: 'ed25519-nkey' }))}.${base64url(JSON.stringify({ jti, ...claims }))}`;
  return `${signed}.${base64url(issuer.sign(Buffer.from(signed)))}`;
}

/**
 * Decentralised (JWT) authentication for a test's nats-server: an operator, one account with JetStream, and creds
 * files for its users, built with the nkeys library nats.js ships, so no `nsc` is needed.
 */
export class NatsOperator {
  private readonly operator = nkeys.createOperator();
  private readonly account = nkeys.createAccount();
  // JetStream needs a system account in operator mode.
  private readonly system = nkeys.createAccount();

  /** The nats-server configuration trusting this operator and knowing its accounts. */
  serverConfig(): string {
    const limits = { subs: -1, data: -1, payload: -1, imports: -1, exports: -1, wildcards: true, conn: -1, leaf: -1 };
    const jetStream = { mem_storage: -1, disk_storage: -1, streams: -1, consumer: -1 };
    const accountJwt = encodeJwt(this.operator, this.account.getPublicKey(), 'app', {
      type: 'account',
      limits: { ...limits, ...jetStream },
    });
    const systemJwt = encodeJwt(this.operator, this.system.getPublicKey(), 'SYS', { type: 'account', limits });
    const operatorJwt = encodeJwt(this.operator, this.operator.getPublicKey(), 'test-operator', {
      type: 'operator',
      system_account: this.system.getPublicKey(),
    });
    return [
      `operator: "${operatorJwt}"`,
      `system_account: ${this.system.getPublicKey()}`,
      'resolver: MEMORY',
      `resolver_preload: { ${this.account.getPublicKey()}: "${accountJwt}", ${this.system.getPublicKey()}: "${systemJwt}" }`,
    ].join('\n');
  }

  /** A creds file's content for a new user of the account (or of `signer`, an account the server does not know). */
  userCreds(name: string, signer: KeyPair = this.account): string {
    const user = nkeys.createUser();
    const jwt = encodeJwt(signer, user.getPublicKey(), name, {
      type: 'user',
      pub: {},
      sub: {},
      subs: -1,
      data: -1,
      payload: -1,
    });
    return `-----BEGIN NATS USER JWT-----\n${jwt}\n------END NATS USER JWT------\n\n-----BEGIN USER NKEY SEED-----\n${text(user.getSeed())}\n------END USER NKEY SEED------\n`;
  }

  /** An account this operator never signed: its users' creds are well-formed but not trusted. */
  static strangerAccount(): KeyPair {
    return nkeys.createAccount();
  }
}
