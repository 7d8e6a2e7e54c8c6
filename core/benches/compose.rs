//! Benchmark of composing the counter's check into one PostgreSQL statement (issue 17 §2), with
//! and without the memo of composed texts (`ecert_core::store::compose::Memo`). No database:
//! the statement is built exactly as a check builds it
//! (`ecert_core::presentation::signed_in_check`), then composed.
//!
//! ```sh
//! cargo bench -p ecert-core --bench compose
//! ECERT_BENCH_SECONDS=1 ECERT_BENCH_ROUNDS=5 cargo bench -p ecert-core --bench compose
//! ```
//!
//! Each round measures, for `ECERT_BENCH_SECONDS` (default 1) each and on 1 and 2 threads:
//!
//! - `build`: building the check's read and its three writes with this request's values, the
//!   part every check pays either way (the reference);
//! - `compose`: `compose::read_then_unit` of checks so built, as every check did before the memo;
//! - `memo`: `Memo::read_then_unit` of checks so built, on the memo a server keeps (its text
//!   found by shape, the values appended), both threads sharing one memo.
//!
//! Checks are built 64 at a time, then composed, and only the part a row names is timed. It
//! prints each row's median over `ECERT_BENCH_ROUNDS` rounds (default 3) in ns per check, and
//! composing with and without the memo as a share of building. Without `--bench` (`cargo
//! test --benches`) it is a smoke run that also checks the memo's text is the composed one.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a benchmark stops on what it did not expect

use std::hint::black_box;
use std::time::{Duration, Instant};

use ecert_core::Millis;
use ecert_core::presentation::signed_in_check;
use ecert_core::secret::Random;
use ecert_core::store::compose::{self, Memo};
use ecert_core::store::{Query, Statement};
use ecert_testing::bench_setting;

/// Threads at each level; on 2 they share one memo, as a server's workers do.
const THREADS: [usize; 2] = [1, 2];

fn main() {
    let smoke = !std::env::args().any(|a| a == "--bench");
    let seconds: f64 = bench_setting("ECERT_BENCH_SECONDS", if smoke { 0.05 } else { 1.0 });
    let rounds: usize = bench_setting("ECERT_BENCH_ROUNDS", if smoke { 1 } else { 3 }).max(1);
    let per_row = Duration::from_secs_f64(seconds);

    let memo = Memo::new(256);
    let (read, unit) = parts(0);
    let (kept, _) = memo.read_then_unit(&read, Some("ecert_go"), &unit).expect("the check composes");
    let (fresh, _) = compose::read_then_unit(&read, Some("ecert_go"), &unit).expect("the check composes");
    assert_eq!(&*kept, fresh.as_str(), "the memo's text is the composed text");
    println!("the counter's check as one statement: {} bytes of SQL, {} values", fresh.len(), {
        compose::read_then_unit(&read, Some("ecert_go"), &unit).map_or(0, |(_, values)| values.len())
    });

    let rows: [(&str, Way); 3] = [("build", Way::Build), ("compose", Way::Compose), ("memo", Way::Memo)];
    let mut ns: Vec<Vec<Vec<f64>>> = vec![vec![Vec::new(); THREADS.len()]; rows.len()];
    for _ in 0..rounds {
        for (r, (_, way)) in rows.iter().enumerate() {
            for (t, &threads) in THREADS.iter().enumerate() {
                ns[r][t].push(measure(*way, threads, per_row, &memo));
            }
        }
    }

    println!("\nns per check, median of {rounds} round(s) of {seconds} s (per thread: each thread's own calls)");
    println!("{:<18}{:>14}{:>14}", "", "1 thread", "2 threads");
    let medians: Vec<Vec<f64>> = ns.iter().map(|row| row.iter().map(|runs| median(runs)).collect()).collect();
    for ((name, _), row) in rows.iter().zip(&medians) {
        println!("{name:<18}{:>14.0}{:>14.0}", row[0], row[1]);
    }
    for (t, threads) in THREADS.iter().enumerate() {
        let (build, compose, memo) = (medians[0][t], medians[1][t], medians[2][t]);
        println!(
            "{threads} thread(s): composing is {:.0}% of building, the memo {:.0}%",
            100.0 * compose / build,
            100.0 * memo / build
        );
    }
    println!("memo: {} shape(s) kept", memo.len());
}

#[derive(Clone, Copy)]
enum Way {
    Build,
    Compose,
    Memo,
}

/// A check's read and writes with the values of request `n`.
fn parts(n: u64) -> (Query, [Statement; 3]) {
    let number = format!("{:016}", 1_000_000_000_000_000 + n % 1_000_000);
    let token = format!("bench-session-{}", n % 64);
    RANDOM.with(|random| signed_in_check(&number, &token, Millis(1_790_000_000_000 + n as i64), random))
}

thread_local! {
    static RANDOM: Random = Random::os();
}

/// Mean ns per check of `way` on `threads` threads for `per_row`: each thread builds a batch of
/// checks, then times the batch's `way` alone (`build` times the building).
fn measure(way: Way, threads: usize, per_row: Duration, memo: &Memo) -> f64 {
    let per_thread: Vec<f64> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                scope.spawn(move || {
                    let started = Instant::now();
                    let mut n = t as u64 * 1_000_003;
                    let (mut timed, mut calls) = (Duration::ZERO, 0u32);
                    while started.elapsed() < per_row {
                        let at = Instant::now();
                        let batch: Vec<_> = (0..BATCH)
                            .map(|_| {
                                n += 1;
                                parts(n)
                            })
                            .collect();
                        if let Way::Build = way {
                            timed += at.elapsed();
                        }
                        let at = Instant::now();
                        for (read, unit) in &batch {
                            match way {
                                Way::Build => {}
                                Way::Compose => drop(black_box(compose::read_then_unit(read, Some("ecert_go"), unit))),
                                Way::Memo => drop(black_box(memo.read_then_unit(read, Some("ecert_go"), unit))),
                            }
                        }
                        if !matches!(way, Way::Build) {
                            timed += at.elapsed();
                        }
                        drop(black_box(batch));
                        calls += BATCH;
                    }
                    timed.as_nanos() as f64 / f64::from(calls)
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().expect("a bench thread")).collect()
    });
    per_thread.iter().sum::<f64>() / per_thread.len() as f64
}

/// Checks built, then composed, at a time.
const BATCH: u32 = 64;

fn median(runs: &[f64]) -> f64 {
    let mut sorted = runs.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted[sorted.len() / 2]
}
