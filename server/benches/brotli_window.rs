//! What brotli's window costs a server-rendered page (stop 53's profile of the `page` row in
//! `benches/http.rs`: 62% of a page's CPU in the encoder, 38% allocating its ring buffer).
//!
//! ```sh
//! cargo bench -p ecert-server --bench brotli_window
//! ```
//!
//! A page of about 24 KB of HTML (rows of Chinese labels and values, as the verification page
//! has) is compressed as a streamed response is, by `tower_http`'s `CompressionLayer` or by
//! `ecert_server::page_brotli` (which the pages now go through, with 18 bits): the same
//! `async_compression` brotli encoder at quality 4, reading the page in two chunks (the shell,
//! then the rest). Each window (`lgwin`: the crate's default, then 22, 18 and 16 bits)
//! runs `ECERT_BENCH_ROUNDS` rounds (default 5) of `ECERT_BENCH_PAGES` pages (default 400);
//! it prints the median µs per page and the compressed size. Without `--bench` (`cargo test
//! --benches`) it is a smoke run that also checks each window's output decodes to the page.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a benchmark stops on what it did not expect

use std::time::Instant;

use async_compression::tokio::bufread::{BrotliDecoder, BrotliEncoder};
use async_compression::{Level, brotli::EncoderParams};
use ecert_testing::bench_setting;
use tokio::io::{AsyncRead, AsyncReadExt, BufReader};

fn main() {
    let smoke = !std::env::args().any(|a| a == "--bench");
    let rounds: usize = bench_setting("ECERT_BENCH_ROUNDS", if smoke { 1 } else { 5 }).max(1);
    let pages: u32 = bench_setting("ECERT_BENCH_PAGES", if smoke { 2 } else { 400 }).max(1);
    let runtime = tokio::runtime::Builder::new_current_thread().build().expect("a runtime");
    let page = page();
    println!("a page of {} bytes of HTML, quality 4, two chunks; median of {rounds} round(s) of {pages}", page.len());
    for window in [None, Some(22), Some(18), Some(16)] {
        let compressed = runtime.block_on(compress(&page, window));
        let decoded = runtime.block_on(read_all(BrotliDecoder::new(compressed.as_slice())));
        assert_eq!(decoded, page, "window {window:?}: the page decodes whole");
        let mut per_page: Vec<f64> = (0..rounds)
            .map(|_| {
                let started = Instant::now();
                for _ in 0..pages {
                    std::hint::black_box(runtime.block_on(compress(&page, window)));
                }
                started.elapsed().as_secs_f64() * 1e6 / f64::from(pages)
            })
            .collect();
        per_page.sort_by(f64::total_cmp);
        let name = window.map_or_else(|| "default".to_owned(), |w| format!("{w} bits"));
        println!("window {name:<8}: {:>7.0} µs per page, {} bytes", per_page[per_page.len() / 2], compressed.len());
    }
}

/// The page, compressed as a streamed response is.
async fn compress(page: &[u8], window: Option<i32>) -> Vec<u8> {
    let (shell, rest) = page.split_at(page.len() / 3);
    let chunks = BufReader::with_capacity(rest.len(), AsyncReadExt::chain(shell, rest));
    let params = EncoderParams::default().quality(Level::Precise(4));
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
