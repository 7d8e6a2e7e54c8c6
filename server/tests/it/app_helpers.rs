//! The app's helpers that need no page: the keyset pager's cursors (issue 15 §2) and the
//! presented number's barcode. They are tested here rather than in ecert-app, which this suite
//! links anyway, so that a test build compiles the app once and not a second time for its own
//! test harness (issue 17 §4).

use ecert_app::barcode;
use ecert_app::lists::Cursors;
use leptos::prelude::Owner;

#[test]
fn each_page_starts_where_the_one_before_ended_and_a_new_walk_forgets_the_old() {
    // A stored value lives in the reactive arena of an owner, as it does inside a component.
    Owner::new().with(|| {
        let cursors = Cursors::new();
        assert_eq!(cursors.start_of(0), "");
        cursors.record(0, "100.a");
        cursors.record(1, "90.b");
        assert_eq!((cursors.start_of(1), cursors.start_of(2)), ("100.a".to_owned(), "90.b".to_owned()));
        // Back on the first page, which now ends elsewhere: the old second and third are gone.
        cursors.record(0, "120.c");
        assert_eq!((cursors.start_of(1), cursors.start_of(2)), ("120.c".to_owned(), String::new()));
        // A page never seen is counted from the top.
        assert_eq!(cursors.start_of(7), "");
        cursors.record(3, "1.d");
        assert_eq!((cursors.start_of(3), cursors.start_of(4)), (String::new(), "1.d".to_owned()));
    });
}

#[test]
fn a_capped_count_still_lets_the_pager_go_on_while_pages_are_full() {
    assert_eq!(Cursors::pages(0, 51, 50, "x"), 2);
    assert_eq!(Cursors::pages(1, 51, 50, ""), 2);
    // 10,001 counted (the cap) but page 201 answered a next: page 202 is reachable.
    assert_eq!(Cursors::pages(200, 10_001, 50, "x"), 202);
    assert_eq!(Cursors::pages(250, 10_001, 50, ""), 251, "the last page counts itself");
}

#[test]
fn twelve_digits_make_start_c_six_symbols_check_and_stop() {
    let svg = barcode::svg("123456789012");
    // 11 modules for start C, 6 symbols and the check symbol, 13 for the stop: 101 modules,
    // and a quiet zone of 10 on each side; 60 high.
    assert!(svg.contains("viewBox=\"0 0 121 60\""), "{svg}");
    // Start C is 2-1-1-2-3-2: the first bar is 2 modules wide, right after the quiet zone.
    assert!(svg.contains("d=\"M10 0h2v60h-2z"), "{svg}");
}

#[test]
fn anything_but_an_even_run_of_digits_draws_nothing() {
    assert_eq!(barcode::svg("12345"), "");
    assert_eq!(barcode::svg("12a4"), "");
    assert_eq!(barcode::svg(""), "");
}
