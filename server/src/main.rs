use std::process::ExitCode;

use ecert_server::Config;
use ecert_server::config::LoadError;

fn main() -> ExitCode {
    let config = match Config::load_from(std::env::args_os()) {
        Ok(config) => config,
        Err(LoadError::Cli(e)) => e.exit(),
        Err(LoadError::File(e)) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    ecert_server::telemetry::init(&config.log, &config.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(ecert_server::run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
