//! What brotli costs a server-rendered page, by its window and by its flushes.
//!
//! ```sh
//! cargo bench -p ecert-server --bench brotli_window
//! ```
//!
//! A page of about 24 KB of HTML (rows of Chinese labels and values, as the verification page
//! has) is compressed as a streamed response is, by the `async_compression` brotli encoder at the
//! pages' quality (4). Each case runs `ECERT_BENCH_ROUNDS` rounds (default 5) of
//! `ECERT_BENCH_PAGES` pages (default 400) and prints the median µs per page and the compressed
//! size. Without `--bench` (`cargo test --benches`) it is a smoke run that also checks that each
//! case's output decodes to the page.
//!
//! * **Windows** (stop 53's profile of the `page` row in `benches/http.rs`: 62% of a page's CPU
//!   in the encoder, 38% allocating its ring buffer): the page read in two chunks (the shell,
//!   then the rest) with `tower_http`'s window (the crate's default), then 22, 18 and 16 bits.
//! * **Pauses** (stop 54's profile: 22% of a page's CPU in the flushes the encoder makes each
//!   time the page's stream waits): the page in 1 to 4 parts, the stream waiting a moment
//!   between them as a render waiting on another task does, with the pages' window; compressed
//!   as the parts come ("flushed", one meta-block per part) and through
//!   `ecert_server::page_brotli::Gathered` as the server now does ("gathered": a pause shorter
//!   than `PAUSE` closed up).
//!
//! **One case alone**, for counting instructions rather than timing (`valgrind --tool=callgrind`
//! counts the same on a busy machine as on a quiet one): `ECERT_BENCH_CASE=flushed:3` (or
//! `gathered:3`, any part count) compresses `ECERT_BENCH_PAGES` pages that way once and prints
//! nothing else. Two page counts, subtracted, give one page's instructions without the start-up
//! (`docs/performance.md`, *A page's pauses counted*).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a benchmark stops on what it did not expect

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use async_compression::tokio::bufread::{BrotliDecoder, BrotliEncoder};
use async_compression::{Level, brotli::EncoderParams};
use axum::body::Bytes;
use ecert_server::page_brotli::{Gathered, QUALITY, WINDOW_BITS, brotli_params};
use ecert_testing::bench_setting;
use futures_core::Stream;
use tokio::io::{AsyncRead, AsyncReadExt, BufReader};
use tokio_util::io::StreamReader;

fn main() {
    let smoke = !std::env::args().any(|a| a == "--bench");
    let rounds: usize = bench_setting("ECERT_BENCH_ROUNDS", if smoke { 1 } else { 5 }).max(1);
    let pages: u32 = bench_setting("ECERT_BENCH_PAGES", if smoke { 2 } else { 400 }).max(1);
    // The time driver: `Gathered` sets a timer at each pause.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().expect("a runtime");
    let page = page();
    if let Ok(case) = std::env::var("ECERT_BENCH_CASE") {
        let (how, parts) = case.split_once(':').expect("ECERT_BENCH_CASE is flushed:N or gathered:N");
        let gathered = match how {
            "flushed" => false,
            "gathered" => true,
            _ => panic!("ECERT_BENCH_CASE is flushed:N or gathered:N, not {case:?}"),
        };
        let parts: usize = parts.parse().expect("a number of parts");
        assert!(parts >= 1, "at least one part");
        let mut bytes = 0;
        for _ in 0..pages {
            bytes = std::hint::black_box(runtime.block_on(compress_parts(&page, parts, gathered))).len();
        }
        println!("{case}: {pages} page(s) of {} bytes, {bytes} bytes each", page.len());
        return;
    }
    let median = |case: &dyn Fn() -> Vec<u8>| {
        let decoded = runtime.block_on(read_all(BrotliDecoder::new(case().as_slice())));
        assert_eq!(decoded, page, "the page decodes whole");
        let mut per_page: Vec<f64> = (0..rounds)
            .map(|_| {
                let started = Instant::now();
                for _ in 0..pages {
                    std::hint::black_box(case());
                }
                started.elapsed().as_secs_f64() * 1e6 / f64::from(pages)
            })
            .collect();
        per_page.sort_by(f64::total_cmp);
        (per_page[per_page.len() / 2], case().len())
    };
    println!("a page of {} bytes of HTML, quality {QUALITY}; median of {rounds} round(s) of {pages}", page.len());

    println!("windows (two chunks):");
    for window in [None, Some(22), Some(18), Some(16)] {
        let (us, bytes) = median(&|| runtime.block_on(compress(&page, window)));
        let name = window.map_or_else(|| "default".to_owned(), |w| format!("{w} bits"));
        println!("  window {name:<8}: {us:>7.0} µs per page, {bytes} bytes");
    }

    println!("pauses ({WINDOW_BITS}-bit window):");
    for parts in 1..=4 {
        let (flushed, flushed_bytes) = median(&|| runtime.block_on(compress_parts(&page, parts, false)));
        let (gathered, gathered_bytes) = median(&|| runtime.block_on(compress_parts(&page, parts, true)));
        println!(
            "  {parts} part(s): flushed {flushed:>5.0} µs, {flushed_bytes} bytes; gathered {gathered:>5.0} µs, {gathered_bytes} bytes"
        );
    }
}

/// The page in `parts` parts with a pause between them, compressed with the pages' settings as
/// they come or gathered first.
async fn compress_parts(page: &[u8], parts: usize, gathered: bool) -> Vec<u8> {
    let size = page.len().div_ceil(parts);
    let chunks = page.chunks(size).map(Bytes::copy_from_slice).collect();
    let stream = Paused { chunks, waited: false };
    if gathered {
        read_all(BrotliEncoder::with_params(StreamReader::new(Gathered::new(stream)), brotli_params())).await
    } else {
        read_all(BrotliEncoder::with_params(StreamReader::new(stream), brotli_params())).await
    }
}

/// Chunks with a pause before each: once `Pending` (waking at once), then the chunk. A pause before
/// the first costs nothing (the encoder has nothing to flush), so `parts` parts make `parts - 1`
/// flushes.
struct Paused {
    chunks: std::collections::VecDeque<Bytes>,
    waited: bool,
}

impl Stream for Paused {
    type Item = io::Result<Bytes>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if !self.waited && !self.chunks.is_empty() {
            self.waited = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        self.waited = false;
        Poll::Ready(self.chunks.pop_front().map(Ok))
    }
}

/// The page, compressed as a streamed response is.
async fn compress(page: &[u8], window: Option<i32>) -> Vec<u8> {
    let (shell, rest) = page.split_at(page.len() / 3);
    let chunks = BufReader::with_capacity(rest.len(), AsyncReadExt::chain(shell, rest));
    let params = EncoderParams::default().quality(Level::Precise(QUALITY));
    let params = match window {
        Some(bits) => params.window_size(bits),
        None => params,
    };
    read_all(BrotliEncoder::with_params(chunks, params)).await
}

async fn read_all(mut reader: impl AsyncRead + Unpin) -> Vec<u8> {
    let mut out = Vec::new();
    reader.read_to_end(&mut out).await.expect("in memory");
    out
}

/// About 24 KB of HTML: rows of a label and a value, Chinese and digits.
fn page() -> Vec<u8> {
    let mut html = String::from("<!DOCTYPE html><html lang=\"zh-CN\"><body><main>");
    let mut row = 0;
    while html.len() < 24_000 {
        row += 1;
        html.push_str(&format!(
            "<div class=\"row\"><span class=\"label\">字段 {row}</span><span class=\"value\">事业单位法人电子证书 {}</span></div>\n",
            row * 7919 % 100_000
        ));
    }
    html.push_str("</main></body></html>");
    html.into_bytes()
}
