//! HTTP to one repository of one registry: authentication on demand and retries. 5xx, 429
//! and connection errors are retried with exponential backoff; anything else is returned to
//! the caller, which knows what status the step expects.

use std::time::Duration;

use reqwest::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use tokio::sync::Mutex;

use super::auth::{parse_challenge, Challenge, Credentials};
use super::reference::Reference;

/// What went wrong, where: the registry, the step, and the HTTP status or transport error.
#[derive(Debug, thiserror::Error)]
#[error("registry {registry}: {step}: {detail}")]
pub struct RegistryError {
    pub registry: String,
    pub step: String,
    pub detail: String,
    pub status: Option<u16>,
}

/// How many times a failing request is tried, and the first pause (doubled each time).
#[derive(Debug, Clone, Copy)]
pub struct Retry {
    pub attempts: u32,
    pub first_backoff: Duration,
}

impl Retry {
    /// The pause after failed attempt number `attempt` (1-based): doubling each time.
    pub fn pause(&self, attempt: u32) -> Duration {
        self.first_backoff * 2u32.pow(attempt.saturating_sub(1))
    }
}

impl Default for Retry {
    fn default() -> Self {
        Retry {
            attempts: 5,
            first_backoff: Duration::from_millis(200),
        }
    }
}

pub struct Client {
    http: reqwest::Client,
    base: String,
    pub reference: Reference,
    credentials: Option<Credentials>,
    authorization: Mutex<Option<String>>,
    pub retry: Retry,
}

impl Client {
    /// HTTPS unless `insecure`, which only loopback registries may use.
    pub fn new(
        reference: Reference,
        credentials: Option<Credentials>,
        insecure: bool,
    ) -> Result<Client, RegistryError> {
        if insecure && !reference.is_loopback() {
            return Err(RegistryError {
                registry: reference.registry.clone(),
                step: "connecting".into(),
                detail: "plain HTTP (--insecure) is only allowed for loopback registries".into(),
                status: None,
            });
        }
        let scheme = if insecure { "http" } else { "https" };
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(600))
            .user_agent(concat!("galley/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| RegistryError {
                registry: reference.registry.clone(),
                step: "creating the HTTP client".into(),
                detail: e.to_string(),
                status: None,
            })?;
        Ok(Client {
            http,
            base: format!("{scheme}://{}", reference.registry),
            reference,
            credentials,
            authorization: Mutex::new(None),
            retry: Retry::default(),
        })
    }

    /// `https://host/v2/<repository>/<rest>`.
    pub fn url(&self, rest: &str) -> String {
        format!("{}/v2/{}/{rest}", self.base, self.reference.repository)
    }

    /// Whether `url` is on the registry itself: same scheme, host and port.
    pub fn same_origin(&self, url: &reqwest::Url) -> bool {
        reqwest::Url::parse(&self.base).is_ok_and(|base| {
            base.scheme() == url.scheme()
                && base.host_str() == url.host_str()
                && base.port_or_known_default() == url.port_or_known_default()
        })
    }

    /// Resolves a `Location` header, which registries may send relative.
    pub fn absolute(&self, location: &str) -> String {
        if location.starts_with("http://") || location.starts_with("https://") {
            location.to_string()
        } else {
            format!("{}{location}", self.base)
        }
    }

    pub fn error(
        &self,
        step: &str,
        detail: impl Into<String>,
        status: Option<u16>,
    ) -> RegistryError {
        RegistryError {
            registry: self.reference.registry.clone(),
            step: step.to_string(),
            detail: detail.into(),
            status,
        }
    }

    /// Sends with retries on 5xx, 429 and transport errors. `make` builds the request anew
    /// for every attempt.
    pub async fn send(
        &self,
        step: &str,
        make: impl Fn(&reqwest::Client) -> RequestBuilder,
    ) -> Result<Response, RegistryError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let last = attempt >= self.retry.attempts;
            match self.send_once(step, &make).await {
                Ok(resp) if retryable(resp.status()) && !last => {}
                Ok(resp) => return Ok(resp),
                Err(e) if e.status.is_none() && !last => {}
                Err(e) => return Err(e),
            }
            tokio::time::sleep(self.retry.pause(attempt)).await;
        }
    }

    /// Sends once, answering one authentication challenge if the registry asks.
    pub async fn send_once(
        &self,
        step: &str,
        make: &impl Fn(&reqwest::Client) -> RequestBuilder,
    ) -> Result<Response, RegistryError> {
        let resp = self.dispatch(step, make).await?;
        if resp.status() != StatusCode::UNAUTHORIZED {
            return Ok(resp);
        }
        let challenge = resp
            .headers()
            .get(WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_challenge);
        let Some(challenge) = challenge else {
            return Err(self.error(
                step,
                "HTTP 401 Unauthorized with no usable WWW-Authenticate challenge",
                Some(401),
            ));
        };
        let header = self.authorize(step, challenge).await?;
        *self.authorization.lock().await = Some(header);
        let resp = self.dispatch(step, make).await?;
        if resp.status() == StatusCode::UNAUTHORIZED {
            let detail = if self.credentials.is_some() {
                "HTTP 401 Unauthorized: the registry rejected the credentials"
            } else {
                "HTTP 401 Unauthorized: the registry needs credentials (GALLEY_REGISTRY_USERNAME and GALLEY_REGISTRY_PASSWORD)"
            };
            return Err(self.error(step, detail, Some(401)));
        }
        Ok(resp)
    }

    async fn dispatch(
        &self,
        step: &str,
        make: &impl Fn(&reqwest::Client) -> RequestBuilder,
    ) -> Result<Response, RegistryError> {
        let mut request = make(&self.http)
            .build()
            .map_err(|e| self.error(step, describe(&e), None))?;
        // Credentials go to the registry itself only: an upload `Location` may name another
        // host (a storage service) or plain HTTP, and neither gets them.
        if self.same_origin(request.url()) {
            if let Some(h) = self.authorization.lock().await.as_deref() {
                let value = reqwest::header::HeaderValue::from_str(h)
                    .map_err(|e| self.error(step, e.to_string(), None))?;
                request.headers_mut().insert(AUTHORIZATION, value);
            }
        }
        self.http
            .execute(request)
            .await
            .map_err(|e| self.error(step, describe(&e), None))
    }

    async fn authorize(&self, step: &str, challenge: Challenge) -> Result<String, RegistryError> {
        match challenge {
            Challenge::Basic => {
                let c = self.credentials.as_ref().ok_or_else(|| {
                    self.error(step, "HTTP 401 Unauthorized: the registry needs credentials (GALLEY_REGISTRY_USERNAME and GALLEY_REGISTRY_PASSWORD)", Some(401))
                })?;
                Ok(basic(c))
            }
            Challenge::Bearer {
                realm,
                service,
                scope,
            } => {
                let scope = scope.unwrap_or_else(|| {
                    format!("repository:{}:pull,push", self.reference.repository)
                });
                let mut query = vec![("scope", scope)];
                if let Some(s) = service {
                    query.push(("service", s));
                }
                let mut req = self.http.request(Method::GET, &realm).query(&query);
                if let Some(c) = &self.credentials {
                    // A token service may live on another host, but never gets passwords in
                    // clear text unless the registry itself is a loopback one on plain HTTP.
                    let plain = realm.starts_with("http://");
                    if plain && !self.base.starts_with("http://") {
                        return Err(self.error(
                            "getting a token",
                            format!("the token service {realm} is plain HTTP; refusing to send credentials there"),
                            None,
                        ));
                    }
                    req = req.header(AUTHORIZATION, basic(c));
                }
                let resp = req
                    .send()
                    .await
                    .map_err(|e| self.error("getting a token", describe(&e), None))?;
                let status = resp.status();
                if !status.is_success() {
                    return Err(self.error(
                        "getting a token",
                        format!("{realm} answered HTTP {status}"),
                        Some(status.as_u16()),
                    ));
                }
                let body = resp
                    .bytes()
                    .await
                    .map_err(|e| self.error("getting a token", describe(&e), None))?;
                let body: serde_json::Value = serde_json::from_slice(&body)
                    .map_err(|e| self.error("getting a token", e.to_string(), None))?;
                let token = body["token"]
                    .as_str()
                    .or_else(|| body["access_token"].as_str())
                    .ok_or_else(|| {
                        self.error("getting a token", "the token service sent no token", None)
                    })?;
                Ok(format!("Bearer {token}"))
            }
        }
    }
}

fn basic(c: &Credentials) -> String {
    use base64::Engine;
    let raw = format!("{}:{}", c.username, c.password);
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

fn retryable(status: StatusCode) -> bool {
    status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS
}

/// reqwest's Display hides the cause ("error sending request"); the chain says why. A TLS
/// handshake answered in plain HTTP gets its own sentence and fix.
fn describe(e: &reqwest::Error) -> String {
    let text = crate::error::chain(e);
    if text.contains("InvalidContentType") {
        return "the registry answered in plain HTTP, not HTTPS\n  help: for a registry on this machine (loopback) pass --insecure; any other registry must speak HTTPS".into();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// A one-request HTTP server on loopback that hands back the request head it got.
    async fn one_request() -> (u16, tokio::task::JoinHandle<String>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let task = tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.expect("accept");
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                let n = stream.read(&mut buf).await.expect("read");
                if n == 0 {
                    break;
                }
                head.extend_from_slice(&buf[..n]);
            }
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                .await;
            String::from_utf8_lossy(&head).to_lowercase()
        });
        (port, task)
    }

    #[tokio::test]
    async fn credentials_go_to_the_registry_and_never_to_another_origin() {
        let (registry_port, registry) = one_request().await;
        let (other_port, other) = one_request().await;
        let reference =
            Reference::parse(&format!("127.0.0.1:{registry_port}/blog")).expect("reference");
        let client = Client::new(reference, None, true).expect("client");
        *client.authorization.lock().await = Some("Basic c2VjcmV0".into());

        let upload = format!("http://127.0.0.1:{other_port}/upload?x=1");
        client
            .dispatch("uploading", &|http: &reqwest::Client| {
                http.put(upload.clone())
            })
            .await
            .expect("other origin answers");
        let head = other.await.expect("other");
        assert!(!head.contains("authorization"), "leaked: {head}");

        let own = client.url("blobs/uploads/");
        client
            .dispatch("starting", &|http: &reqwest::Client| http.post(own.clone()))
            .await
            .expect("registry answers");
        let head = registry.await.expect("registry");
        assert!(head.contains("authorization: basic c2vjcmv0"), "{head}");
    }
}
