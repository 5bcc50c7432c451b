//! The `segmenter` binary: parse flags, build a validated configuration, call the library,
//! map errors to one line on stderr and exit code 2.

mod cli;

use clap::Parser;
use cli::{AlgorithmArg, BackendArg, Cli, Command, GenerateCommand, InitArg};
use segmenter::commands::{self, KMeansCommand};
use segmenter::kmeans::{Algorithm, Init, KMeansParams};
use segmenter::synth::{generate_blobs, generate_customers, BlobsSpec, CustomersSpec};

mod features_cli;
use segmenter::{Error, Result};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => {
            // --help and --version.
            print!("{e}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("segmenter: error: {}", one_line(&e.to_string()));
            return ExitCode::from(2);
        }
    };
    match run(cli) {
        Ok(out) => {
            print!("{out}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("segmenter: error: {e}");
            ExitCode::from(2)
        }
    }
}

/// Folds clap's multi-line usage error into one line: the message and its possible values.
fn one_line(message: &str) -> String {
    message
        .lines()
        .map(str::trim)
        .take_while(|l| !l.is_empty())
        .map(|l| l.strip_prefix("error: ").unwrap_or(l))
        .collect::<Vec<_>>()
        .join(" ")
}

fn json<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string_pretty(v)
        .map(|s| s + "\n")
        .map_err(|e| Error::Data(e.to_string()))
}

fn run(cli: Cli) -> Result<String> {
    match cli.command {
        Command::Demo(a) => {
            let (dir, _guard) = match a.dir {
                Some(d) => {
                    std::fs::create_dir_all(&d).map_err(|e| Error::write(&d, e))?;
                    (d, None)
                }
                None => {
                    let t =
                        std::env::temp_dir().join(format!("segmenter-demo-{}", std::process::id()));
                    std::fs::create_dir_all(&t).map_err(|e| Error::write(&t, e))?;
                    (t.clone(), Some(t))
                }
            };
            commands::demo::run_demo(&dir, a.rows, a.seed)
        }
        Command::Generate(GenerateCommand::Customers(a)) => {
            generate_customers(
                &CustomersSpec {
                    rows: a.rows,
                    seed: a.seed,
                },
                &a.output,
                a.truth.as_deref(),
            )?;
            Ok(format!(
                "wrote {} customers to {}\n",
                a.rows,
                a.output.display()
            ))
        }
        Command::Generate(GenerateCommand::Blobs(a)) => {
            generate_blobs(
                &BlobsSpec {
                    rows: a.rows,
                    dims: a.dims,
                    centers: a.centers,
                    std: a.std,
                    seed: a.seed,
                },
                &a.output,
                a.truth.as_deref(),
            )?;
            Ok(format!("wrote {} rows to {}\n", a.rows, a.output.display()))
        }
        Command::Features(f) => features_cli::run_features(f),
        Command::Generate(GenerateCommand::Transactions(a)) => {
            features_cli::generate_transactions(a)
        }
        Command::Generate(GenerateCommand::Events(a)) => features_cli::generate_events(a),
        Command::Kmeans(a) => {
            if !matches!(a.backend, BackendArg::Cpu) {
                return Err(Error::Unsupported(
                    "only --backend cpu is available in this build (the GPU backend is not built yet)".into(),
                ));
            }
            let params = KMeansParams::new(a.k)
                .init(match a.init {
                    InitArg::KMeansPlusPlus => Init::KMeansPlusPlus,
                    InitArg::Random => Init::Random,
                    InitArg::First => Init::First,
                })
                .n_init(a.n_init)
                .max_iter(a.max_iter)
                .tol(a.tol)
                .seed(a.seed)
                .algorithm(match a.algorithm {
                    AlgorithmArg::Auto => Algorithm::Auto,
                    AlgorithmArg::Lloyd => Algorithm::Lloyd,
                    AlgorithmArg::Hamerly => Algorithm::Hamerly,
                });
            let cmd = KMeansCommand {
                input: a.file,
                params,
                threads: a.threads,
                labels: a.labels,
            };
            let s = commands::run_kmeans(&cmd)?;
            if a.json {
                json(&s)
            } else {
                Ok(s.to_text())
            }
        }
    }
}
