//! `arctunadm(8)`; see the crate documentation and `arctunadm --help`.

use std::io::Write as _;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let out = arctunadm::run(&args, arctunadm::open_backend);
    // A closed pipe (`arctunadm get | head -1`) is not an error worth a
    // second message.
    let _ = std::io::stdout().write_all(out.stdout.as_bytes());
    let _ = std::io::stderr().write_all(out.stderr.as_bytes());
    ExitCode::from(u8::try_from(out.status).unwrap_or(1))
}
