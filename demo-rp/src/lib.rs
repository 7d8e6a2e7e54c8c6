//! A demo relying party (应用系统) that logs in with the legal-person e-certificate over standard
//! OpenID Connect, using the off-the-shelf `openidconnect` crate: discovery, an authorization URL
//! with PKCE (S256) and a nonce, the code exchange (`client_secret_basic`), and ID-token
//! verification against the issuer's JWKS (ES256), with the platform's claims (institution,
//! role, matters) typed.
//!
//! The HTTP client under `openidconnect` is ours, over `hyper` (plain HTTP/1.1, no redirects
//! followed): the demo talks to an issuer on `http://` (local, or behind a TLS-terminating proxy
//! reached from inside). A production party would plug in a TLS-capable client the same way.

use std::future::Future;
use std::pin::Pin;

pub use openidconnect;
use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreAuthenticationFlow, CoreErrorResponseType, CoreGenderClaim, CoreJsonWebKey,
    CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm, CoreProviderMetadata, CoreRevocableToken,
    CoreRevocationErrorResponse, CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    AsyncHttpClient, AuthorizationCode, Client, ClientId, ClientSecret, CsrfToken, EmptyExtraTokenFields,
    EndpointMaybeSet, EndpointNotSet, EndpointSet, HttpRequest, HttpResponse, IdTokenFields, IssuerUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope, StandardErrorResponse,
    StandardTokenResponse, TokenResponse,
};
use serde::{Deserialize, Serialize};

/// The institution claim of the platform's ID tokens.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Institution {
    pub name: String,
    pub credit_code: String,
    pub certificate_serial: String,
}

/// A matter (授权事项) the user is granted today.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Matter {
    pub id: String,
    pub name: String,
    pub name_en: String,
}

/// The platform's claims beyond the standard ones.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EcertClaims {
    pub institution: Institution,
    pub role: String,
    pub matters: Vec<Matter>,
}

impl openidconnect::AdditionalClaims for EcertClaims {}

type IdFields = IdTokenFields<
    EcertClaims,
    EmptyExtraTokenFields,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;
/// The token response, with the platform's claims in its ID token.
pub type EcertTokenResponse = StandardTokenResponse<IdFields, CoreTokenType>;

/// A client made from discovery: authorization URL set, token and userinfo URLs as discovered.
pub type EcertClient = Client<
    EcertClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    EcertTokenResponse,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("configuration: {0}")]
    Config(String),
    #[error("discovery failed: {0}")]
    Discovery(String),
    #[error("token exchange failed: {0}")]
    Exchange(String),
    #[error("ID token refused: {0}")]
    IdToken(String),
}

/// HTTP failures of [`HttpClient`].
#[derive(Debug, thiserror::Error)]
#[error("http: {0}")]
pub struct HttpError(pub String);

/// A small HTTP/1.1 client over hyper for `openidconnect` (and for tests). It never follows
/// redirects (following them would open the party to SSRF).
#[derive(Clone, Copy, Debug, Default)]
pub struct HttpClient;

impl HttpClient {
    /// Sends one request on a fresh connection and reads the whole response.
    pub async fn send(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        use http_body_util::{BodyExt, Full};
        use hyper::body::Bytes;
        let (parts, body) = request.into_parts();
        if parts.uri.scheme_str() != Some("http") {
            return Err(HttpError("only http:// URLs are supported by the demo client".into()));
        }
        let host = parts.uri.host().ok_or_else(|| HttpError("URL without host".into()))?.to_owned();
        let port = parts.uri.port_u16().unwrap_or(80);
        let authority = parts.uri.authority().map(|a| a.as_str().to_owned()).unwrap_or_else(|| host.clone());
        let stream =
            tokio::net::TcpStream::connect((host.as_str(), port)).await.map_err(|e| HttpError(e.to_string()))?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(|e| HttpError(e.to_string()))?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        let mut builder = hyper::Request::builder()
            .method(parts.method)
            .uri(parts.uri.path_and_query().map_or("/", |p| p.as_str()))
            .header(hyper::header::HOST, authority);
        for (name, value) in &parts.headers {
            builder = builder.header(name, value);
        }
        let request = builder.body(Full::new(Bytes::from(body))).map_err(|e| HttpError(e.to_string()))?;
        let response = sender.send_request(request).await.map_err(|e| HttpError(e.to_string()))?;
        let (parts, body) = response.into_parts();
        let body = body.collect().await.map_err(|e| HttpError(e.to_string()))?.to_bytes().to_vec();
        Ok(http::Response::from_parts(parts, body))
    }
}

impl<'c> AsyncHttpClient<'c> for HttpClient {
    type Error = HttpError;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, HttpError>> + Send + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(self.send(request))
    }
}

/// What the party is configured with.
#[derive(Clone)]
pub struct Config {
    /// The platform's public URL, e.g. `http://127.0.0.1:3000`.
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    /// This party's registered redirect URL, e.g. `http://127.0.0.1:4000/callback`.
    pub redirect_url: String,
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("redirect_url", &self.redirect_url)
            .finish_non_exhaustive()
    }
}

/// A login in progress: the browser goes to `url`; the party keeps the rest (bound to that
/// browser) until the callback.
#[derive(Debug)]
pub struct Pending {
    pub url: String,
    pub state: String,
    pub nonce: Nonce,
    pub pkce_verifier: PkceCodeVerifier,
}

/// A verified login.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Login {
    /// The holder id (`sub`).
    pub subject: String,
    /// The holder's name, masked by the platform.
    pub name: Option<String>,
    pub claims: EcertClaims,
    pub access_token: String,
}

/// The relying party: a client built from the issuer's discovery document.
pub struct RelyingParty {
    client: EcertClient,
    http: HttpClient,
}

impl RelyingParty {
    /// Discovers the issuer (its metadata and JWKS) and builds the client.
    pub async fn discover(config: &Config) -> Result<RelyingParty, DemoError> {
        let http = HttpClient;
        let issuer = IssuerUrl::new(config.issuer.clone()).map_err(|e| DemoError::Config(e.to_string()))?;
        let metadata = CoreProviderMetadata::discover_async(issuer, &http)
            .await
            .map_err(|e| DemoError::Discovery(error_chain(&e)))?;
        let redirect = RedirectUrl::new(config.redirect_url.clone()).map_err(|e| DemoError::Config(e.to_string()))?;
        let client = EcertClient::from_provider_metadata(
            metadata,
            ClientId::new(config.client_id.clone()),
            Some(ClientSecret::new(config.client_secret.clone())),
        )
        .set_redirect_uri(redirect);
        Ok(RelyingParty { client, http })
    }

    /// The authorization URL, with a fresh state, nonce and PKCE (S256) challenge.
    pub fn start(&self) -> Pending {
        let (challenge, pkce_verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state, nonce) = self
            .client
            .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
            .add_scope(Scope::new("profile".into()))
            .set_pkce_challenge(challenge)
            .url();
        Pending { url: url.to_string(), state: state.secret().clone(), nonce, pkce_verifier }
    }

    /// Exchanges the code (with the PKCE verifier) and verifies the ID token: signature by the
    /// issuer's JWKS key (ES256), issuer, audience, expiry and nonce.
    pub async fn finish(&self, code: &str, verifier: PkceCodeVerifier, nonce: &Nonce) -> Result<Login, DemoError> {
        let response = self
            .client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .map_err(|e| DemoError::Config(e.to_string()))?
            .set_pkce_verifier(verifier)
            .request_async(&self.http)
            .await
            .map_err(|e| DemoError::Exchange(error_chain(&e)))?;
        self.verify(&response, nonce)
    }

    /// Verifies the ID token of a token response.
    pub fn verify(&self, response: &EcertTokenResponse, nonce: &Nonce) -> Result<Login, DemoError> {
        let id_token = response.id_token().ok_or_else(|| DemoError::IdToken("no ID token".into()))?;
        let verifier = self.client.id_token_verifier().set_allowed_algs(vec![CoreJwsSigningAlgorithm::EcdsaP256Sha256]);
        let claims = id_token.claims(&verifier, nonce).map_err(|e| DemoError::IdToken(error_chain(&e)))?;
        Ok(Login {
            subject: claims.subject().as_str().to_owned(),
            name: claims.name().and_then(|n| n.get(None)).map(|n| n.as_str().to_owned()),
            claims: claims.additional_claims().clone(),
            access_token: response.access_token().secret().clone(),
        })
    }

    pub fn client(&self) -> &EcertClient {
        &self.client
    }
}

/// An error and its sources, on one line.
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
