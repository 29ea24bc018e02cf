// A relying party built on openid-client 6 (the OpenID-certified library by the author of
// node-oidc-provider), driven by tests/it/openid_client.rs over stdin/stdout: one JSON command
// a line in, one JSON answer a line out. It keeps what a real relying party keeps between the
// steps of a flow (its configuration, the PKCE verifier, state and nonce of the authorization
// request it built), and checks every answer with openid-client's own validation — issuer,
// audience, nonce, state, PKCE, signatures against the published JWKS, the subject of UserInfo —
// not with Gatehouse's. Errors come back as {"error": {...}} with what openid-client said.
import * as client from 'openid-client'
import { SignJWT, createRemoteJWKSet, exportJWK, generateKeyPair, jwtVerify } from 'jose'
import { randomUUID } from 'node:crypto'
import { createInterface } from 'node:readline'

let config
let pending = {}
// The DPoP handle (RFC 9449: the key pair and the nonces the server sent), once `dpop_key` made
// one; commands with `dpop: true` use it.
let dpop
// What the library sent and got back (its fetch, wrapped): for the nonce round and a replay.
let exchanges = []
// The relying party's own key pairs (private_key_jwt), by kid.
const keys = new Map()

const auths = {
  client_secret_basic: (secret) => client.ClientSecretBasic(secret),
  client_secret_post: (secret) => client.ClientSecretPost(secret),
  none: () => client.None(),
  private_key_jwt: (_, kid) => client.PrivateKeyJwt({ key: keys.get(kid).privateKey, kid }),
}

// Records every request openid-client makes and the answer, then hands the answer back as is.
function recorded(url, options) {
  return fetch(url, options).then(async (response) => {
    const headers = Object.fromEntries(new Headers(options.headers))
    let error
    if (!response.ok) {
      try {
        error = (await response.clone().json()).error
      } catch {}
    }
    exchanges.push({
      url: String(url),
      method: options.method,
      headers,
      body: options.body == null ? null : String(options.body),
      status: response.status,
      error,
      dpop_nonce: response.headers.get('dpop-nonce'),
    })
    return response
  })
}

function dpopOptions(c) {
  return c.dpop ? { DPoP: dpop } : undefined
}

function tokens(response) {
  const claims = response.claims ? response.claims() : undefined
  return {
    access_token: response.access_token,
    token_type: response.token_type,
    expires_in: response.expiresIn ? response.expiresIn() : undefined,
    refresh_token: response.refresh_token,
    scope: response.scope,
    id_token: response.id_token,
    claims: claims ?? null,
  }
}

const ops = {
  // {alg}: a new key pair kept here; answers its public JWK (with kid and alg).
  async generate_key(c) {
    const { publicKey, privateKey } = await generateKeyPair(c.alg, { extractable: true })
    const kid = randomUUID()
    keys.set(kid, { privateKey, alg: c.alg })
    return { jwk: { ...(await exportJWK(publicKey)), kid, alg: c.alg, use: 'sig' } }
  },
  // {kid, client_id, aud, exp_in?, jti?}: a client assertion made by hand (for the refusals
  // openid-client would never send: a replay, a wrong audience, an expired one).
  async assertion(c) {
    const { privateKey, alg } = keys.get(c.kid)
    const now = Math.floor(Date.now() / 1000)
    const jwt = await new SignJWT({ jti: c.jti ?? randomUUID() })
      .setProtectedHeader({ alg, kid: c.kid, typ: 'JWT' })
      .setIssuer(c.client_id)
      .setSubject(c.client_id)
      .setAudience(c.aud)
      .setIssuedAt(now)
      .setExpirationTime(now + (c.exp_in ?? 60))
      .sign(privateKey)
    return { assertion: jwt }
  },
  // {issuer, client_id, client_secret?, auth}
  async discover(c) {
    const metadata = c.metadata ?? {}
    config = await client.discovery(new URL(c.issuer), c.client_id, metadata, auths[c.auth](c.client_secret, c.kid), {
      execute: [client.allowInsecureRequests],
    })
    config[client.customFetch] = recorded
    return { server: config.serverMetadata() }
  },
  // {alg?}: a new DPoP key pair (randomDPoPKeyPair) and its handle; answers the key's thumbprint.
  async dpop_key(c) {
    dpop = client.getDPoPHandle(config, await client.randomDPoPKeyPair(c.alg ?? 'ES256'))
    return { jkt: await dpop.calculateThumbprint() }
  },
  // The requests made and answers received since the last call.
  async exchanges() {
    const seen = exchanges
    exchanges = []
    return { exchanges: seen }
  },
  // {path}: the last request to `path` sent again by hand, exactly (its DPoP proof included).
  async replay_last(c) {
    const last = exchanges.findLast((e) => new URL(e.url).pathname === c.path)
    if (!last) throw new Error(`no request to ${c.path} yet`)
    const response = await fetch(last.url, { method: last.method, headers: last.headers, body: last.body })
    return { status: response.status, body: await response.json(), proof: last.headers.dpop }
  },
  // {url, method, access_token, dpop?}: a protected resource (the Management API) called the
  // library's way (Authorization: DPoP and a proof with ath, when the token is DPoP-bound).
  async resource(c) {
    const response = await client.fetchProtectedResource(
      config,
      c.access_token,
      new URL(c.url),
      c.method ?? 'GET',
      undefined,
      undefined,
      dpopOptions(c),
    )
    return { status: response.status, body: await response.json() }
  },
  // From now on this relying party asks for hybrid `code id_token` responses (openid-client
  // then checks the front-channel ID token: signature, nonce, c_hash, s_hash).
  async use_hybrid() {
    client.useCodeIdTokenResponseType(config)
    return {}
  },
  // {redirect_uri, scope, params?, par?, jar?}: a fresh PKCE verifier, state and nonce, kept for
  // code_grant; with `jar` (a kid of generate_key) the parameters travel in a request object
  // signed with that key (buildAuthorizationUrlWithJAR); with `par` they are pushed first
  // (buildAuthorizationUrlWithPAR) — both: the request object is what is pushed.
  async authorize_url(c) {
    const verifier = client.randomPKCECodeVerifier()
    pending = { verifier, state: client.randomState(), nonce: client.randomNonce() }
    const parameters = {
      redirect_uri: c.redirect_uri,
      scope: c.scope,
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state: pending.state,
      nonce: pending.nonce,
      ...(c.params ?? {}),
    }
    if (c.dpop_jkt) parameters.dpop_jkt = await dpop.calculateThumbprint()
    let signed = parameters
    if (c.jar) {
      const jar = await client.buildAuthorizationUrlWithJAR(config, parameters, { key: keys.get(c.jar).privateKey, kid: c.jar })
      if (!c.par) return { url: jar.href }
      signed = jar.searchParams
    }
    const url = c.par
      ? await client.buildAuthorizationUrlWithPAR(config, signed, dpopOptions(c))
      : client.buildAuthorizationUrl(config, parameters)
    return { url: url.href }
  },
  // {callback_url} or {form_post: {url, body}}: the code exchanged with the kept verifier;
  // state, nonce and ID tokens checked. A form_post response is handed over as the Request
  // the browser posted.
  async code_grant(c) {
    const input = c.form_post
      ? new Request(c.form_post.url, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: c.form_post.body,
        })
      : new URL(c.callback_url)
    const response = await client.authorizationCodeGrant(config, input, {
      pkceCodeVerifier: pending.verifier,
      expectedState: pending.state,
      expectedNonce: pending.nonce,
      idTokenExpected: c.id_token_expected ?? true,
    }, undefined, dpopOptions(c))
    return tokens(response)
  },
  // {access_token, subject}
  async userinfo(c) {
    return { userinfo: await client.fetchUserInfo(config, c.access_token, c.subject, dpopOptions(c)) }
  },
  // {refresh_token, scope?}
  async refresh(c) {
    return tokens(
      await client.refreshTokenGrant(config, c.refresh_token, c.scope ? { scope: c.scope } : undefined, dpopOptions(c)),
    )
  },
  // {scope?}
  async client_credentials(c) {
    return tokens(await client.clientCredentialsGrant(config, c.scope ? { scope: c.scope } : undefined, dpopOptions(c)))
  },
  // {token}
  async introspect(c) {
    return { introspection: await client.tokenIntrospection(config, c.token) }
  },
  // {token}
  async revoke(c) {
    await client.tokenRevocation(config, c.token)
    return {}
  },
  // {id_token_hint, post_logout_redirect_uri, state}
  async end_session_url(c) {
    return { url: client.buildEndSessionUrl(config, c).href }
  },
  // {scope}: a device authorization (RFC 8628), kept for device_poll_start; answers what the
  // device shows its user.
  async device_start(c) {
    pending.device = await client.initiateDeviceAuthorization(config, { scope: c.scope })
    const { user_code, verification_uri, verification_uri_complete, expires_in, interval } = pending.device
    return { user_code, verification_uri, verification_uri_complete, expires_in, interval }
  },
  // Starts polling the token endpoint as the library does (it waits the interval, and again on
  // authorization_pending and slow_down) and answers at once; device_poll_result waits for it.
  async device_poll_start() {
    pending.poll = client.pollDeviceAuthorizationGrant(config, pending.device).then(tokens, (e) => ({ error: describe(e) }))
    return {}
  },
  // The tokens the polling received, validated by the library (ID token signature, iss, aud).
  async device_poll_result() {
    return await pending.poll
  },
  // {token, audience}: a back-channel logout token checked with jose against the server's
  // JWKS: signature, iss, aud, typ logout+jwt, iat/exp/jti, the logout event, no nonce.
  async verify_logout_token(c) {
    const server = config.serverMetadata()
    const jwks = createRemoteJWKSet(new URL(server.jwks_uri))
    const { payload, protectedHeader } = await jwtVerify(c.token, jwks, {
      issuer: server.issuer,
      audience: c.audience,
      typ: 'logout+jwt',
      requiredClaims: ['iat', 'exp', 'jti'],
    })
    const event = payload.events?.['http://schemas.openid.net/event/backchannel-logout']
    if (typeof event !== 'object' || event === null) throw new Error('no back-channel logout event')
    if ('nonce' in payload) throw new Error('a logout token must not carry a nonce')
    if (!payload.sub && !payload.sid) throw new Error('a logout token names sub or sid')
    return { payload, header: protectedHeader }
  },
}

function describe(e) {
  return {
    name: e.name,
    code: e.code,
    message: e.message,
    error: e.error,
    error_description: e.error_description,
    status: e.status,
    cause: e.cause && typeof e.cause === 'object' ? { message: e.cause.message, error: e.cause.error } : e.cause,
  }
}

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity })
for await (const line of lines) {
  if (!line.trim()) continue
  let answer
  try {
    const command = JSON.parse(line)
    const op = ops[command.op]
    if (!op) throw new Error(`no such operation: ${command.op}`)
    answer = await op(command)
  } catch (e) {
    answer = { error: describe(e) }
  }
  process.stdout.write(JSON.stringify(answer) + '\n')
}
