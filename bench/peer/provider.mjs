// node-oidc-provider as the peer of Gatehouse's client_credentials benchmark (bench/peer.sh).
//
// One client_credentials client authenticating with client_secret_basic, issuing tokens the way
// Gatehouse does:
//   PEER_MODE=jwt-rs256  JWT access tokens (RFC 9068) signed RS256 (RSA 2048), 300 s
//   PEER_MODE=jwt-es256  the same signed ES256 (P-256)
//   PEER_MODE=opaque     node-oidc-provider's default: an opaque token kept in its (in-memory) adapter
// JWT access tokens for client_credentials need a resource server: every request gets the
// default resource below, whose info names the format and the signing algorithm.
//
//   NODE_ENV=production PORT=3000 PEER_MODE=jwt-rs256 PEER_CLIENT_ID=… PEER_CLIENT_SECRET=… node provider.mjs
//
// One process, no cluster (node-oidc-provider's default; nothing here forks).
import crypto from 'node:crypto';

import Provider from 'oidc-provider';

const port = Number(process.env.PORT || 3000);
const mode = process.env.PEER_MODE || 'jwt-rs256';
const clientId = process.env.PEER_CLIENT_ID || 'bench';
const clientSecret = process.env.PEER_CLIENT_SECRET || crypto.randomBytes(32).toString('base64url');
if (!['jwt-rs256', 'jwt-es256', 'opaque'].includes(mode)) {
  console.error(`unknown PEER_MODE ${mode}`);
  process.exit(2);
}

const rsa = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
const ec = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
const alg = mode === 'jwt-es256' ? 'ES256' : 'RS256';
const resource = 'urn:gatehouse-bench:api';

const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [
    {
      client_id: clientId,
      client_secret: clientSecret,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  jwks: {
    keys: [
      { ...rsa, kid: 'rs256', alg: 'RS256', use: 'sig' },
      { ...ec, kid: 'es256', alg: 'ES256', use: 'sig' },
    ],
  },
  cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
  ttl: { ClientCredentials: 300 },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: async (_ctx, _client, oneOf) => oneOf ?? (mode === 'opaque' ? undefined : resource),
      getResourceServerInfo: async (_ctx, indicator) => {
        if (indicator !== resource) throw new Provider.errors.InvalidTarget();
        return { scope: '', audience: resource, accessTokenTTL: 300, accessTokenFormat: 'jwt', jwt: { sign: { alg } } };
      },
    },
  },
});

provider.listen(port, '127.0.0.1', () => {
  console.log(`node-oidc-provider (${mode}, NODE_ENV=${process.env.NODE_ENV}) listening on 127.0.0.1:${port}`);
});
