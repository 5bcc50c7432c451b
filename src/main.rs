//! The `segmenter` binary: parse flags, turn them into library parameters, call the library,
//! print the result, map errors to one line on stderr and exit code 2.

mod cli;

// Stages reuse each other's large blocks instead of faulting in fresh pages (see the module).
#[cfg(target_os = "linux")]
#[global_allocator]
static ALLOC: segmenter::alloc::ReuseLarge = segmenter::alloc::ReuseLarge;

use clap::Parser;
use cli::{convert, progress::Spinners, text, Cli, Command, GenerateCommand};
use segmenter::backend::info::run_info;
use segmenter::bench::{run_bench, BenchCommand};
use segmenter::cluster::ClusterAlgorithm;
use segmenter::io::Table;
use segmenter::pipeline::derive::derive_for_run;
use segmenter::pipeline::numeric::{run_kmeans, KMeansJob};
use segmenter::pipeline::SegmentModel;
use segmenter::report::{prepare_out_dir, write_dir_as, write_scored, RunSummary};
use segmenter::synth::{
    generate_blobs, generate_customers, generate_customers_from, generate_mixed, generate_shoppers,
    BlobsSpec, CustomersSpec, FIVE_SEGMENTS,
};
use segmenter::{Error, Result};
use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Instant;

fn main() -> ExitCode {
    // Mesa's device-select layer prints XDG_RUNTIME_DIR warnings on headless machines; it only
    // reorders devices, which segmenter does itself. Set before any thread starts.
    if std::env::var_os("NODEVICE_SELECT").is_none() {
        std::env::set_var("NODEVICE_SELECT", "1");
    }
    // Library messages name parameters by their flags from here on.
    segmenter::error::use_names(&cli::names::FLAGS);
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
    // The server gives each request thread its own pool; everything else runs on rayon's.
    let result = match cli.command {
        Command::Serve(_) => run(cli),
        _ => segmenter::on_pool(|| run(cli)),
    };
    match result {
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

fn run(cli: Cli) -> Result<String> {
    match cli.command {
        Command::Run(a) => run_segmentation(*a),
        Command::Predict(a) => {
            let model = SegmentModel::load(&a.model)?;
            let table = Table::open(&a.file, &convert::source_options(&a.input, a.decimal)?)?;
            let scores = model.predict(&table)?;
            let rejects = write_scored(&a.output, &table, &model, &scores)?;
            let s = text::PredictSummary {
                rows_in: table.rows_in(),
                rows_scored: scores.kept.len() as u64,
                rows_rejected: scores.rejects.len() as u64,
                rejects,
                extra_columns: scores.extra_columns.clone(),
                sizes: model.sizes(&scores.labels),
                segment_names: model.segment_names.clone(),
                output: a.output,
            };
            if a.json {
                cli::json(&s)
            } else {
                Ok(text::predict(&s))
            }
        }
        Command::Serve(a) => serve(a),
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
            cli::demo::run_demo(&dir, a.rows, a.seed, progress)
        }
        Command::Generate(GenerateCommand::Customers(a)) => {
            if a.segments == 5 {
                customers_like(&a.common, |s, o, t| {
                    generate_customers_from(s, &FIVE_SEGMENTS, o, t)
                })
            } else {
                customers_like(&a.common, generate_customers)
            }
        }
        Command::Generate(GenerateCommand::Shoppers(a)) => customers_like(&a, generate_shoppers),
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
        Command::Features(f) => cli::features::run_features(f),
        Command::Generate(GenerateCommand::Transactions(a)) => {
            cli::features::generate_transactions(a)
        }
        Command::Generate(GenerateCommand::Events(a)) => cli::features::generate_events(a),
        Command::Kmeans(a) => {
            let job = KMeansJob {
                input: a.file.clone(),
                params: convert::kmeans_params(&a),
                threads: a.threads,
                labels: a.labels.clone(),
                backend: convert::backend(a.backend),
            };
            let s = run_kmeans(&job)?;
            if a.json {
                cli::json(&s)
            } else {
                Ok(text::kmeans(&s))
            }
        }
        Command::Info(a) => {
            let r = run_info();
            if a.json {
                cli::json(&r)
            } else {
                Ok(text::info(&r))
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
                    .map(|v| v.into_iter().map(convert::backend).collect()),
                seed: a.seed,
                peak_gbs: a.peak_gbs,
            };
            let report = run_bench(&cmd)?;
            if a.json {
                cli::json(&report.rows)
            } else {
                Ok(text::bench(&report))
            }
        }
    }
}

/// `segmenter run`: the table (or the table derived from a log), segmented and written.
fn run_segmentation(mut a: cli::RunArgs) -> Result<String> {
    let from = std::mem::take(&mut a.from);
    let source = convert::source_options(&a.input, a.decimal)?;
    let params = convert::run_params(&a)?;
    let derivation = cli::features::run_from(from, &a.input)?;
    let params = match &derivation {
        Some(d) => params.for_derived(&d.kind),
        None => params,
    };
    let segmenter = params.check()?;
    let start = Instant::now();
    prepare_out_dir(&a.out)?;
    let mut spinners = Spinners::new(!a.quiet && std::io::stderr().is_terminal());
    // A table larger than memory (or --low-memory) is run in passes over the file.
    let kmeans_only = segmenter.parameters().algorithms() == [ClusterAlgorithm::Kmeans];
    if a.low_memory && derivation.is_some() {
        return Err(Error::Data(
            "--low-memory runs on a customer table: with --from the per-customer table is built \
             in memory (leave out --low-memory)"
                .into(),
        ));
    }
    if derivation.is_none()
        && (a.low_memory || (kmeans_only && segmenter::pipeline::passes::needs_passes(&a.file)))
    {
        if a.output_format != cli::args::OutputFormatArg::Csv {
            return Err(Error::Data(format!(
                "{}: a run in passes (--low-memory, or a table larger than memory) writes \
                 segments.csv only: leave out --output-format parquet",
                a.file.display()
            )));
        }
        let spill = a
            .out
            .join(format!(".segmenter-spill-{}", std::process::id()));
        let fit = segmenter.fit_in_passes(&a.file, &source, &spill, &mut spinners)?;
        let times = segmenter::report::passes::write_dir_in_passes(&fit, &a.out, &mut spinners)?;
        let summary = RunSummary::new(&fit.seg, &a.out, times, start.elapsed().as_secs_f64());
        return if a.json {
            cli::json(&summary)
        } else {
            Ok(text::run(&summary))
        };
    }
    let (derived, table) = match &derivation {
        Some(d) => {
            let (s, t) = derive_for_run(d, &a.file, &a.out)?;
            (text::features(&s), t)
        }
        None => (String::new(), Table::open(&a.file, &source)?),
    };
    let seg = segmenter.fit(&table, &mut spinners)?;
    let format = convert::output_format(a.output_format);
    let times = write_dir_as(&seg, &table, &a.out, format, &mut spinners)?;
    let mut summary = RunSummary::new(&seg, &a.out, times, start.elapsed().as_secs_f64());
    summary.segments_file = format.segments_file().into();
    if a.json {
        cli::json(&summary)
    } else {
        Ok(derived + &text::run(&summary))
    }
}

/// `segmenter serve`: runs until SIGTERM or Ctrl-C, then drains and exits 0.
fn serve(a: cli::ServeArgs) -> Result<String> {
    if !(a.timeout.is_finite() && a.timeout > 0.0) {
        return Err(Error::Data(format!(
            "--timeout {} must be a positive number of seconds",
            a.timeout
        )));
    }
    if a.max_rows == 0 || a.max_body == 0 {
        return Err(Error::Data(
            "--max-rows and --max-body must be at least 1".into(),
        ));
    }
    let config = segmenter::serve::ServeConfig {
        model: a.model,
        run: a.run,
        addr: a.addr,
        token_file: a.token_file,
        limits: segmenter::serve::Limits {
            max_body: a.max_body,
            max_rows: a.max_rows,
            timeout: std::time::Duration::try_from_secs_f64(a.timeout)
                .map_err(|e| Error::Data(format!("--timeout {}: {e}", a.timeout)))?,
        },
        threads: a.threads,
    };
    let dashboard = config.run.is_some();
    segmenter::serve::serve(config, |addr| {
        use std::io::Write;
        // The first line is for scripts and tests that start the server on port 0.
        println!("segmenter serve: listening on http://{addr}");
        if dashboard {
            println!("segmenter serve: dashboard at http://{addr}/");
        }
        let _ = std::io::stdout().flush();
    })?;
    Ok("segmenter serve: stopped\n".into())
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
