//! The `segmenter` binary: parse flags, build a validated configuration, call the library,
//! map errors to one line on stderr and exit code 2.

mod cli;

use clap::Parser;
use cli::{
    AlgorithmArg, BackendArg, Cli, ClusterAlgorithmArg, Command, GenerateCommand, ImputeArg,
    InitArg, OutlierMethodArg, OutliersArg, RunArgs, ScaleArg,
};
use segmenter::backend::BackendChoice;
use segmenter::cluster::ClusterAlgorithm;
use segmenter::commands::{self, BenchCommand, KMeansCommand, KSpec, PredictCommand, RunCommand};
use segmenter::data::{CleanParams, Impute, LogSpec, OutlierMethod, Outliers, Overrides, Scale};
use segmenter::kmeans::{Algorithm, Init, KMeansParams};
use segmenter::synth::{
    generate_blobs, generate_customers, generate_mixed, BlobsSpec, CustomersSpec,
};

mod features_cli;
use segmenter::{Error, Result};
use std::io::IsTerminal;
use std::process::ExitCode;

fn main() -> ExitCode {
    // Mesa's device-select layer prints XDG_RUNTIME_DIR warnings on headless machines; it only
    // reorders devices, which segmenter does itself. Set before any thread starts.
    if std::env::var_os("NODEVICE_SELECT").is_none() {
        std::env::set_var("NODEVICE_SELECT", "1");
    }
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

fn backend_choice(b: BackendArg) -> BackendChoice {
    match b {
        BackendArg::Auto => BackendChoice::Auto,
        BackendArg::Cpu => BackendChoice::Cpu,
        BackendArg::Gpu => BackendChoice::Gpu,
    }
}

fn run(cli: Cli) -> Result<String> {
    match cli.command {
        Command::Run(mut a) => {
            let json_out = a.json;
            let from = std::mem::take(&mut a.from);
            let mut cmd = run_command(*a)?;
            let derived = features_cli::prepare_run_from(from, &mut cmd)?;
            let s = commands::run_workflow(&cmd)?;
            if json_out {
                json(&s)
            } else {
                Ok(derived + &s.to_text())
            }
        }
        Command::Predict(a) => {
            let s = commands::run_predict(&PredictCommand {
                model: a.model,
                input: a.file,
                output: a.output,
            })?;
            if a.json {
                json(&s)
            } else {
                Ok(s.to_text())
            }
        }
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
            let progress = !a.quiet && std::io::stderr().is_terminal();
            commands::demo::run_demo(&dir, a.rows, a.seed, progress).map(|s| s.to_text())
        }
        Command::Generate(GenerateCommand::Customers(a)) => customers_like(&a, generate_customers),
        Command::Generate(GenerateCommand::Mixed(a)) => customers_like(&a, generate_mixed),
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
                backend: backend_choice(a.backend),
            };
            let s = commands::run_kmeans(&cmd)?;
            if a.json {
                json(&s)
            } else {
                Ok(s.to_text())
            }
        }
        Command::Info(a) => {
            let r = commands::run_info();
            if a.json {
                json(&r)
            } else {
                Ok(r.to_text())
            }
        }
        Command::Bench(a) => {
            let cmd = BenchCommand {
                rows: a.rows,
                dims: a.dims,
                k: a.k,
                iters: a.iters,
                input: a.input,
                backends: a
                    .backends
                    .map(|v| v.into_iter().map(backend_choice).collect()),
                seed: a.seed,
            };
            let report = commands::run_bench(&cmd)?;
            if a.json {
                json(&report.rows)
            } else {
                Ok(report.to_text())
            }
        }
    }
}

/// `generate customers` and `generate mixed`: one customer per row, from rows and seed.
fn customers_like(
    a: &cli::CustomersArgs,
    generate: fn(&CustomersSpec, &std::path::Path, Option<&std::path::Path>) -> Result<()>,
) -> Result<String> {
    generate(
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

/// Parses `LO..HI` (also `LO..=HI` and `LO-HI`).
fn parse_k_range(s: &str) -> Result<std::ops::RangeInclusive<usize>> {
    let bad = || {
        Error::Data(format!(
            "--k-range '{s}': expected LO..HI with whole numbers, such as 2..10"
        ))
    };
    let (lo, hi) = s
        .split_once("..=")
        .or_else(|| s.split_once(".."))
        .or_else(|| s.split_once('-'))
        .ok_or_else(bad)?;
    let lo: usize = lo.trim().parse().map_err(|_| bad())?;
    let hi: usize = hi.trim().parse().map_err(|_| bad())?;
    Ok(lo..=hi)
}

fn run_command(a: RunArgs) -> Result<RunCommand> {
    let k = if a.k.eq_ignore_ascii_case("auto") {
        KSpec::Auto
    } else {
        KSpec::Fixed(a.k.trim().parse().map_err(|_| {
            Error::Data(format!(
                "--k '{}': expected a whole number of segments or auto",
                a.k
            ))
        })?)
    };
    let log = match a.log.as_deref() {
        None => LogSpec::Off,
        Some(l) if l.eq_ignore_ascii_case("auto") => LogSpec::Auto,
        Some(l) => LogSpec::Columns(
            l.split(',')
                .map(|c| c.trim().to_string())
                .filter(|c| !c.is_empty())
                .collect(),
        ),
    };
    Ok(RunCommand {
        input: a.file,
        out: a.out,
        k,
        k_range: parse_k_range(&a.k_range)?,
        silhouette_sample: a.silhouette_sample,
        sweep_sample: a.sweep_sample.max(1),
        backend: match a.backend {
            BackendArg::Auto => BackendChoice::Auto,
            BackendArg::Cpu => BackendChoice::Cpu,
            BackendArg::Gpu => BackendChoice::Gpu,
        },
        seed: a.seed,
        n_init: a.n_init,
        algorithm: match a.algorithm {
            ClusterAlgorithmArg::Kmeans => ClusterAlgorithm::Kmeans,
            ClusterAlgorithmArg::Dbscan => ClusterAlgorithm::Dbscan,
            ClusterAlgorithmArg::Hierarchical => ClusterAlgorithm::Hierarchical,
            ClusterAlgorithmArg::Kprototypes => ClusterAlgorithm::Kprototypes,
        },
        compare: match a.compare.as_deref() {
            Some(list) => ClusterAlgorithm::parse_list(list)?,
            None => Vec::new(),
        },
        eps: a.eps,
        min_samples: a.min_samples,
        gamma: a.gamma,
        micro_clusters: a.micro_clusters,
        clean: CleanParams {
            impute: match a.impute {
                ImputeArg::Median => Impute::Median,
                ImputeArg::Mean => Impute::Mean,
                ImputeArg::Drop => Impute::Drop,
            },
            outliers: match a.outliers {
                OutliersArg::Clip => Outliers::Clip,
                OutliersArg::Drop => Outliers::Drop,
                OutliersArg::Keep => Outliers::Keep,
            },
            outlier_method: match a.outlier_method {
                OutlierMethodArg::Iqr => OutlierMethod::Iqr,
                OutlierMethodArg::Zscore => OutlierMethod::Zscore,
            },
            ..CleanParams::default()
        },
        scale: match a.scale {
            ScaleArg::Standard => Scale::Standard,
            ScaleArg::Minmax => Scale::Minmax,
            ScaleArg::Robust => Scale::Robust,
            ScaleArg::None => Scale::None,
        },
        log,
        overrides: Overrides {
            id: a.id,
            drop: a.drop,
            categorical: a.categorical,
            numeric: a.numeric,
        },
        progress: !a.quiet && std::io::stderr().is_terminal(),
    })
}
