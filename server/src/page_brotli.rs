//! Compression of the server-rendered pages, with brotli's window sized for a page (issue 17 §2).
//!
//! `tower_http`'s `CompressionLayer` gives brotli its default window of 4 MiB, and the encoder
//! allocates and zeroes a ring buffer of twice that as soon as a response reaches it in more
//! than one write, as every streamed page does: 38% of a page's CPU went there
//! (`docs/performance.md`, *Where a page's CPU goes*). A page is some tens of kilobytes; with a
//! window of 2^18 bytes the encoder writes the same bytes in a quarter of the time
//! (`benches/brotli_window.rs`), and a browser decoding it needs a smaller window too.
//!
//! So a page (`text/html`) is compressed here, and only here: the router gives `CompressionLayer`
//! [`not_pages`] as its predicate, so that one reading of `Accept-Encoding` decides each
//! response's coding. Like `CompressionLayer`, this layer leaves alone a response that already
//! has a `Content-Encoding` or is a range, and flushes what it has whenever the page's stream
//! waits, so that a streamed page still reaches the browser as it is rendered.

use std::io;

use async_compression::tokio::bufread::{BrotliEncoder, GzipEncoder};
use async_compression::{Level, brotli::EncoderParams};
use axum::body::{Body, HttpBody};
use axum::extract::Request;
use axum::http::StatusCode;
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use http_body_util::{BodyDataStream, BodyExt};
use tokio_util::io::{ReaderStream, StreamReader};
use tower_http::compression::predicate::{DefaultPredicate, NotForContentType, Predicate};

/// Brotli's window, in bits: 256 KiB, several times the largest page.
pub const WINDOW_BITS: i32 = 18;
/// Brotli's quality, the one `CompressionLayer` uses by default: fast enough for every page.
pub const QUALITY: i32 = 4;
/// What a page's `Content-Type` starts with (compared as `CompressionLayer`'s predicates compare).
const PAGE: &str = "text/html";
/// `CompressionLayer`'s default: a body known to be smaller is not worth a coding.
const MIN_SIZE: u64 = 32;

/// The predicate for `CompressionLayer`: what it compresses by default, except pages.
pub fn not_pages() -> impl Predicate {
    DefaultPredicate::new().and(NotForContentType::const_new(PAGE))
}

/// A content coding this layer writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Coding {
    Brotli,
    Gzip,
}

/// Middleware: a page compressed with the coding its request's `Accept-Encoding` prefers.
pub async fn compress_pages(req: Request, next: Next) -> Response {
    let coding = preferred_coding(req.headers());
    let res = next.run(req).await;
    let content_type = res.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if !content_type.starts_with(PAGE)
        || res.headers().contains_key(header::CONTENT_ENCODING)
        || res.headers().contains_key(header::CONTENT_RANGE)
    {
        return res;
    }
    let (mut parts, body) = res.into_parts();
    let varies = parts.headers.get_all(header::VARY).iter().any(|v| {
        v.to_str().is_ok_and(|v| v.split(',').any(|name| name.trim().eq_ignore_ascii_case("accept-encoding")))
    });
    if !varies {
        parts.headers.append(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    let empty = matches!(parts.status, StatusCode::NO_CONTENT | StatusCode::NOT_MODIFIED)
        || body.size_hint().exact().is_some_and(|size| size < MIN_SIZE);
    let Some(coding) = coding.filter(|_| !empty) else {
        return Response::from_parts(parts, body);
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.remove(header::ACCEPT_RANGES);
    let html = StreamReader::new(BodyDataStream::new(body.map_err(io::Error::other)));
    let (name, body) = match coding {
        Coding::Brotli => {
            let params = EncoderParams::default().quality(Level::Precise(QUALITY)).window_size(WINDOW_BITS);
            ("br", Body::from_stream(ReaderStream::new(BrotliEncoder::with_params(html, params))))
        }
        Coding::Gzip => ("gzip", Body::from_stream(ReaderStream::new(GzipEncoder::new(html)))),
    };
    parts.headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static(name));
    Response::from_parts(parts, body)
}

/// The coding `Accept-Encoding` (RFC 9110 §12.5.3) takes most gladly of those this layer writes:
/// brotli when its weight (that of `br`, else of `*`) is above zero and not below gzip's (that of
/// `gzip` or `x-gzip`, else of `*`), else gzip when its weight is above zero. No header, or one
/// that names neither and no `*`, means none. Of a coding named twice, the greater weight counts.
pub fn preferred_coding(headers: &HeaderMap) -> Option<Coding> {
    let (mut br, mut gzip, mut any) = (None, None, None);
    for value in headers.get_all(header::ACCEPT_ENCODING) {
        let Ok(value) = value.to_str() else { continue };
        for item in value.split(',') {
            let mut params = item.split(';');
            let coding = params.next().unwrap_or_default().trim();
            let Some(w) = weight(params) else { continue };
            let slot = if coding.eq_ignore_ascii_case("br") {
                &mut br
            } else if coding.eq_ignore_ascii_case("gzip") || coding.eq_ignore_ascii_case("x-gzip") {
                &mut gzip
            } else if coding == "*" {
                &mut any
            } else {
                continue;
            };
            *slot = Some(slot.map_or(w, |seen: u16| seen.max(w)));
        }
    }
    let br = br.or(any).unwrap_or(0);
    let gzip = gzip.or(any).unwrap_or(0);
    if br > 0 && br >= gzip {
        Some(Coding::Brotli)
    } else if gzip > 0 {
        Some(Coding::Gzip)
    } else {
        None
    }
}

/// An item's weight in thousandths from its parameters: 1000 without `q`; `None`, and the item
/// ignored, when `q` is not a qvalue (`0`, `1`, `0.` and up to three digits, `1.` and up to three
/// zeros). Other parameters are passed over.
fn weight<'a>(params: impl Iterator<Item = &'a str>) -> Option<u16> {
    let mut weight = 1000;
    for param in params {
        let (name, value) = param.split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("q") {
            continue;
        }
        let value = value.trim();
        let (whole, fraction) = value.split_once('.').unwrap_or((value, ""));
        if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let thousandths =
            fraction.bytes().zip([100, 10, 1]).map(|(digit, place)| u16::from(digit - b'0') * place).sum();
        weight = match whole {
            "0" => thousandths,
            "1" if thousandths == 0 => 1000,
            _ => return None,
        };
    }
    Some(weight)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use async_compression::tokio::bufread::{BrotliDecoder, GzipDecoder};
    use axum::Router;
    use axum::routing::get;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tower::ServiceExt;

    use super::*;

    fn coding(values: &[&str]) -> Option<Coding> {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append(header::ACCEPT_ENCODING, HeaderValue::from_str(v).unwrap());
        }
        preferred_coding(&headers)
    }

    #[test]
    fn brotli_is_chosen_when_taken_at_least_as_gladly_as_gzip() {
        let br = Some(Coding::Brotli);
        assert_eq!(coding(&["gzip, deflate, br, zstd"]), br, "what browsers send");
        assert_eq!(coding(&["br"]), br);
        assert_eq!(coding(&["BR;Q=1.000"]), br);
        assert_eq!(coding(&["gzip;q=0.5", "br;q=0.5"]), br, "a tie goes to brotli; two header lines are one list");
        assert_eq!(coding(&["*"]), br);
        assert_eq!(coding(&["gzip;q=0.2, *;q=0.3"]), br, "br takes the wildcard's weight");
        assert_eq!(coding(&["br;q=0, br"]), br, "named twice: the greater weight");
        assert_eq!(coding(&["br;q=0.001"]), br);

        let gzip = Some(Coding::Gzip);
        assert_eq!(coding(&["gzip"]), gzip);
        assert_eq!(coding(&["x-gzip, deflate"]), gzip);
        assert_eq!(coding(&["br;q=0, gzip"]), gzip, "brotli refused");
        assert_eq!(coding(&["gzip;q=1, br;q=0.5"]), gzip, "gzip preferred");
        assert_eq!(coding(&["gzip;level=9, br;q=0.5"]), gzip, "another parameter is passed over");
        assert_eq!(coding(&["*;q=0.5, gzip"]), gzip, "br takes the wildcard's weight, below gzip's");
        assert_eq!(coding(&["br;q=0.5, *"]), gzip, "gzip takes the wildcard's weight, above br's");
        assert_eq!(coding(&["*, br;q=0"]), gzip, "an explicit br outweighs the wildcard");

        assert_eq!(coding(&[]), None, "no header");
        assert_eq!(coding(&["identity"]), None);
        assert_eq!(coding(&["deflate, zstd"]), None);
        assert_eq!(coding(&["br;q=0.000, gzip;q=0"]), None);
        assert_eq!(coding(&["*;q=0"]), None);
    }

    #[test]
    fn a_malformed_weight_makes_its_item_ignored() {
        for bad in ["br;q=2", "br;q=1.5", "br;q=0.1234", "br;q=abc", "br;q=", "br;q=-0", "br;q", "br;q=0.5x"] {
            assert_eq!(coding(&[bad]), None, "{bad}");
            assert_eq!(
                coding(&[&format!("{bad}, br")]),
                Some(Coding::Brotli),
                "{bad}: a well-formed item still counts"
            );
        }
        assert_eq!(weight(["q=0.5"].into_iter()), Some(500));
        assert_eq!(weight(["q=0.05"].into_iter()), Some(50));
        assert_eq!(weight(["q=1."].into_iter()), Some(1000));
        assert_eq!(weight(["level=3", " q = 0.25 "].into_iter()), Some(250));
        assert_eq!(weight(std::iter::empty()), Some(1000));
    }

    /// `handler`'s answer to a request accepting `accept`, through this layer and
    /// `CompressionLayer` as the router has them.
    async fn through_layers(handler: axum::routing::MethodRouter, accept: &str) -> Response {
        let app = Router::new()
            .route("/", handler)
            .layer(axum::middleware::from_fn(compress_pages))
            .layer(tower_http::compression::CompressionLayer::new().compress_when(not_pages()));
        let req = Request::get("/").header(header::ACCEPT_ENCODING, accept).body(Body::empty()).unwrap();
        app.oneshot(req).await.unwrap()
    }

    fn reader(res: Response) -> impl tokio::io::AsyncBufRead {
        StreamReader::new(BodyDataStream::new(res.into_body().map_err(io::Error::other)))
    }

    #[tokio::test]
    async fn a_page_streams_through_compression_chunk_by_chunk() {
        let (mut page, written) = tokio::io::duplex(1 << 16);
        let written = std::sync::Arc::new(std::sync::Mutex::new(Some(written)));
        let handler = get(move || {
            let written = written.lock().unwrap().take().unwrap();
            async move {
                ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], Body::from_stream(ReaderStream::new(written)))
            }
        });
        let res = through_layers(handler, "gzip, br").await;
        assert_eq!(res.headers()[header::CONTENT_ENCODING], "br");
        assert_eq!(res.headers()[header::VARY], "accept-encoding");
        let mut html = BrotliDecoder::new(reader(res));
        let shell = "<!DOCTYPE html><html><body>";
        page.write_all(shell.as_bytes()).await.unwrap();
        let mut first = vec![0; shell.len()];
        // The rest of the page is not written yet: the shell decodes only if it was flushed.
        tokio::time::timeout(Duration::from_secs(30), html.read_exact(&mut first)).await.unwrap().unwrap();
        assert_eq!(first, shell.as_bytes());
        let rest = "<p>事业单位法人电子证书</p></body></html>";
        page.write_all(rest.as_bytes()).await.unwrap();
        drop(page);
        let mut decoded = String::new();
        html.read_to_string(&mut decoded).await.unwrap();
        assert_eq!(decoded, rest);
    }

    #[tokio::test]
    async fn a_page_of_known_length_loses_its_length_and_ranges_when_compressed() {
        let body = "<!DOCTYPE html><html><body><p>事业单位法人电子证书</p></body></html>".repeat(20);
        let handler = {
            let body = body.clone();
            get(move || {
                let headers = [(header::CONTENT_TYPE, "text/html"), (header::ACCEPT_RANGES, "bytes")];
                std::future::ready((headers, body.clone()))
            })
        };
        let res = through_layers(handler.clone(), "gzip").await;
        assert_eq!(res.headers()[header::CONTENT_ENCODING], "gzip");
        assert!(!res.headers().contains_key(header::CONTENT_LENGTH), "the length was the page's, not the gzip's");
        assert!(!res.headers().contains_key(header::ACCEPT_RANGES), "a range of the coded bytes is not offered");
        let mut decoded = String::new();
        GzipDecoder::new(reader(res)).read_to_string(&mut decoded).await.unwrap();
        assert_eq!(decoded, body);

        let res = through_layers(handler, "identity").await;
        assert!(!res.headers().contains_key(header::CONTENT_ENCODING));
        assert_eq!(res.headers()[header::CONTENT_LENGTH], body.len().to_string().as_str());
        assert_eq!(res.headers()[header::VARY], "accept-encoding", "caches keep one copy per coding");
    }

    #[tokio::test]
    async fn what_is_not_a_page_is_left_to_compression_layer() {
        let css = ".row { display: flex; }\n".repeat(100);
        let handler = {
            let css = css.clone();
            get(move || std::future::ready(([(header::CONTENT_TYPE, "text/css")], css.clone())))
        };
        let res = through_layers(handler, "br").await;
        assert_eq!(res.headers()[header::CONTENT_ENCODING], "br");
        let mut compressed = Vec::new();
        reader(res).read_to_end(&mut compressed).await.unwrap();
        // RFC 7932 §9.1: a stream opens with its window: a 1 bit, then 3 bits n for 2^(17+n) bytes.
        assert_ne!(compressed[0] & 0x0F, 0b0011, "CompressionLayer's own window, not a page's");
        let mut decoded = String::new();
        BrotliDecoder::new(compressed.as_slice()).read_to_string(&mut decoded).await.unwrap();
        assert_eq!(decoded, css);
    }
}
