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
//! has a `Content-Encoding` or is a range.
//!
//! The encoder flushes whenever its input waits, and each flush closes a meta-block with Huffman
//! tables of its own: 22% of a page's CPU went to flushes at the pauses of the page's stream
//! (`docs/performance.md`, *The pages' own compression*), and counted alone a flush costs the
//! encoder 3% of a page's instructions (*A page's pauses counted*). So the page's chunks are
//! [`Gathered`] first: a pause shorter than [`PAUSE`] is closed up, and a streamed page still
//! reaches the browser as it is rendered, each part at most [`PAUSE`] late.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use async_compression::tokio::bufread::{BrotliEncoder, GzipEncoder};
use async_compression::{Level, brotli::EncoderParams};
use axum::body::{Body, Bytes, HttpBody};
use axum::extract::Request;
use axum::http::StatusCode;
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use futures_core::Stream;
use http_body_util::{BodyDataStream, BodyExt};
use tokio::time::Sleep;
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
/// How long a page's stream may pause before what it has sent so far is flushed to the browser.
pub const PAUSE: Duration = Duration::from_millis(5);
/// What is let through without waiting for a pause: more than any page, bounding what a
/// response holds.
const HELD_MAX: usize = 64 * 1024;

/// The pages' brotli settings: [`QUALITY`] and a window of [`WINDOW_BITS`].
pub fn brotli_params() -> EncoderParams {
    EncoderParams::default().quality(Level::Precise(QUALITY)).window_size(WINDOW_BITS)
}

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
    let html = StreamReader::new(Gathered::new(BodyDataStream::new(body.map_err(io::Error::other))));
    let (name, body) = match coding {
        Coding::Brotli => {
            ("br", Body::from_stream(ReaderStream::new(BrotliEncoder::with_params(html, brotli_params()))))
        }
        Coding::Gzip => ("gzip", Body::from_stream(ReaderStream::new(GzipEncoder::new(html)))),
    };
    parts.headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static(name));
    Response::from_parts(parts, body)
}

/// A page's stream with its short pauses closed up: what the page sends is held until it pauses
/// for [`PAUSE`] (counted from the first pause with something held), ends, or has sent
/// [`HELD_MAX`] bytes, and is then passed on as one chunk. The encoder flushes only when its
/// input waits, so it flushes only where the page itself waits.
pub struct Gathered<S> {
    page: S,
    held: Vec<u8>,
    pause: Option<Pin<Box<Sleep>>>,
    error: Option<io::Error>,
    ended: bool,
}

impl<S> Gathered<S> {
    pub fn new(page: S) -> Self {
        Gathered { page, held: Vec::new(), pause: None, error: None, ended: false }
    }
}

impl<S: Stream<Item = io::Result<Bytes>> + Unpin> Stream for Gathered<S> {
    type Item = io::Result<Bytes>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        while !this.ended && this.held.len() < HELD_MAX {
            match Pin::new(&mut this.page).poll_next(cx) {
                Poll::Ready(Some(Ok(chunk))) => this.held.extend_from_slice(&chunk),
                Poll::Ready(Some(Err(error))) => {
                    // What came before the error still goes out, then the error.
                    this.error = Some(error);
                    this.ended = true;
                }
                Poll::Ready(None) => this.ended = true,
                Poll::Pending if this.held.is_empty() => return Poll::Pending,
                Poll::Pending => {
                    let pause = this.pause.get_or_insert_with(|| Box::pin(tokio::time::sleep(PAUSE)));
                    if pause.as_mut().poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                    break;
                }
            }
        }
        this.pause = None;
        if this.held.is_empty() {
            return Poll::Ready(this.error.take().map(Err));
        }
        Poll::Ready(Some(Ok(Bytes::from(std::mem::take(&mut this.held)))))
    }
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

    /// A page's stream from a channel: each chunk as it is sent, the end when the sender goes.
    struct Sent(tokio::sync::mpsc::UnboundedReceiver<io::Result<Bytes>>);

    impl Stream for Sent {
        type Item = io::Result<Bytes>;
        fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
            self.0.poll_recv(cx)
        }
    }

    async fn next<S: Stream + Unpin>(stream: &mut S) -> Option<S::Item> {
        std::future::poll_fn(|cx| Pin::new(&mut *stream).poll_next(cx)).await
    }

    #[tokio::test]
    async fn a_pages_chunks_are_held_until_it_pauses_ends_or_has_sent_enough() {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let mut page = Gathered::new(Sent(rx));
        let send = |chunk: &'static str| tx.send(Ok(Bytes::from_static(chunk.as_bytes()))).unwrap();

        send("<head>");
        send("<body>");
        let started = std::time::Instant::now();
        assert_eq!(next(&mut page).await.unwrap().unwrap(), "<head><body>", "two chunks, one flush");
        assert!(started.elapsed() >= PAUSE, "let out only after a pause of PAUSE");

        tx.send(Ok(Bytes::from(vec![b'x'; HELD_MAX]))).unwrap();
        send("<p>");
        assert_eq!(next(&mut page).await.unwrap().unwrap().len(), HELD_MAX, "enough is let out at once");
        assert_eq!(next(&mut page).await.unwrap().unwrap(), "<p>");

        send("</body>");
        tx.send(Err(io::Error::other("the render failed"))).unwrap();
        send("never read");
        assert_eq!(next(&mut page).await.unwrap().unwrap(), "</body>", "what came before an error goes out");
        assert_eq!(next(&mut page).await.unwrap().unwrap_err().to_string(), "the render failed");
        assert!(next(&mut page).await.is_none(), "nothing after the error");

        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let mut page = Gathered::new(Sent(rx));
        tx.send(Ok(Bytes::from_static(b"</html>"))).unwrap();
        drop(tx);
        assert_eq!(next(&mut page).await.unwrap().unwrap(), "</html>", "the end lets out what is held");
        assert!(next(&mut page).await.is_none());
    }

    /// A page in two chunks with its stream pausing for a moment between them, as a render
    /// waiting on another task does.
    struct Stutter(Vec<&'static str>, bool);

    impl Stream for Stutter {
        type Item = io::Result<Bytes>;
        fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
            self.1 = !self.1;
            if self.1 && !self.0.is_empty() {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            Poll::Ready((!self.0.is_empty()).then(|| Ok(Bytes::from_static(self.0.remove(0).as_bytes()))))
        }
    }

    #[tokio::test]
    async fn a_short_pause_in_a_page_costs_the_encoder_no_flush() {
        let page = "<!DOCTYPE html><html><head><title>事业单位法人电子证书</title></head>";
        let rest = "<body><p>核验</p></body></html>";
        let handler = get(move || async move {
            ([(header::CONTENT_TYPE, "text/html")], Body::from_stream(Stutter(vec![page, rest], false)))
        });
        let mut body = through_layers(handler, "br").await.into_body();
        let mut parts = Vec::new();
        while let Some(frame) = body.frame().await {
            parts.push(frame.unwrap().into_data().unwrap());
        }
        // Flushed at the pause, the page would come in two parts (the flush, then the end).
        assert_eq!(parts.len(), 1, "one meta-block: {parts:?}");
        let mut decoded = String::new();
        BrotliDecoder::new(parts[0].as_ref()).read_to_string(&mut decoded).await.unwrap();
        assert_eq!(decoded, format!("{page}{rest}"));
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
