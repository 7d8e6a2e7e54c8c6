//! Structured logs. Requests are logged with method, path (never the query string, which may
//! carry codes) and request id; no personal data is ever a log field (R16).

use tracing_subscriber::EnvFilter;

pub fn init(filter: &str, format: &str) {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_target(true);
    let _ = if format == "json" {
        // stderr, as the text logs and as README says: stdout is the start-up banner's.
        builder.json().flatten_event(true).with_current_span(true).with_writer(std::io::stderr).try_init()
    } else {
        builder.with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())).with_writer(std::io::stderr).try_init()
    };
}
