//! Command-line definitions (clap derive) and nothing else.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Fast, reproducible customer segmentation: clean, scale, choose k, cluster (CPU or GPU),
/// project and profile, in one command.
#[derive(Parser, Debug)]
#[command(name = "segmenter", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Generate the built-in customer table into a temporary directory and segment it.
    Demo(DemoArgs),
    /// Write synthetic data sets (customer exports, Gaussian blobs).
    #[command(subcommand)]
    Generate(GenerateCommand),
    /// k-means on a numeric CSV with a header, every column a feature.
    Kmeans(KMeansArgs),
    /// List the GPU adapters wgpu can see, their limits, and what `--backend auto` would pick.
    Info(InfoArgs),
    /// Time the same k-means (same data, same init, fixed iterations) on each backend.
    Bench(BenchArgs),
    /// Segment a customer table: clean, scale, choose k, cluster, project, profile, report.
    Run(Box<RunArgs>),
    /// Assign the rows of a table to the segments of a saved model.json.
    Predict(PredictArgs),
}

/// `segmenter info`.
#[derive(Args, Debug)]
pub struct InfoArgs {
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `segmenter run`.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// Customer table: CSV with a header row; `,` `;` or tab detected; UTF-8 (a BOM is fine).
    pub file: PathBuf,
    /// Directory for segments.csv, rejects.csv, profile.csv, model.json, report.md,
    /// report.html and plots/ (created if needed).
    #[arg(long, default_value = "segmenter-out")]
    pub out: PathBuf,
    /// Number of segments, or `auto` to choose it over --k-range (elbow knee and silhouette;
    /// the rule is printed in the report).
    #[arg(long, default_value = "auto")]
    pub k: String,
    /// Range of k that `--k auto` considers, as LO..HI.
    #[arg(long, default_value = "2..10")]
    pub k_range: String,
    /// Rows of the seeded sample the exact silhouette is computed on.
    #[arg(long, default_value_t = 10_000)]
    pub silhouette_sample: usize,
    /// The elbow sweep is fitted on a seeded sample of this many rows when the table is
    /// larger; the final model always uses every row.
    #[arg(long, default_value_t = 50_000)]
    pub sweep_sample: usize,
    /// Where k-means runs.
    #[arg(long, value_enum, default_value = "auto")]
    pub backend: BackendArg,
    /// Seed of every random choice (samples, k-means++).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Independent k-means runs of the final fit; the lowest inertia wins.
    #[arg(long, default_value_t = 1)]
    pub n_init: usize,
    /// Missing numeric values: replaced by the column's median or mean, or the row rejected.
    #[arg(long, value_enum, default_value = "median")]
    pub impute: ImputeArg,
    /// Values outside the outlier fence: clipped to it, row rejected, or kept.
    #[arg(long, value_enum, default_value = "clip")]
    pub outliers: OutliersArg,
    /// Outlier fence: Tukey's IQR fence (1.5 × IQR beyond the quartiles) or mean ± 3 sd.
    #[arg(long, value_enum, default_value = "iqr")]
    pub outlier_method: OutlierMethodArg,
    /// Scaling of numeric and date features (booleans and one-hot stay 0/1).
    #[arg(long, value_enum, default_value = "standard")]
    pub scale: ScaleArg,
    /// log1p before scaling: `auto` (non-negative columns with skewness above 1) or COL,COL.
    #[arg(long)]
    pub log: Option<String>,
    /// Identifier column(s): kept in the output, not clustered on.
    #[arg(long, value_name = "COL", value_delimiter = ',')]
    pub id: Vec<String>,
    /// Column(s) not clustered on (still copied to segments.csv).
    #[arg(long, value_name = "COL", value_delimiter = ',')]
    pub drop: Vec<String>,
    /// Column(s) to treat as categorical (one-hot).
    #[arg(long, value_name = "COL", value_delimiter = ',')]
    pub categorical: Vec<String>,
    /// Column(s) to treat as numeric (a row with a non-number there is rejected).
    #[arg(long, value_name = "COL", value_delimiter = ',')]
    pub numeric: Vec<String>,
    /// No progress spinners (they are shown only on a terminal anyway).
    #[arg(long)]
    pub quiet: bool,
    /// Print one JSON object (k, rows_in, rows_segmented, rows_rejected, silhouette, inertia,
    /// backend, stage_seconds, …) instead of the text summary.
    #[arg(long)]
    pub json: bool,
}

/// `segmenter predict`.
#[derive(Args, Debug)]
pub struct PredictArgs {
    /// model.json written by `segmenter run`.
    pub model: PathBuf,
    /// Table to score (same columns as the training file; extra ones are copied through).
    pub file: PathBuf,
    /// Scored table: row, original columns, segment, segment_name, pc1, pc2,
    /// distance_to_centroid. Rows that cannot be scored go to <name>.rejects.csv beside it.
    #[arg(short = 'o', long = "output")]
    pub output: PathBuf,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `segmenter bench`.
#[derive(Args, Debug)]
pub struct BenchArgs {
    /// Rows of generated Gaussian blobs (ignored with --input).
    #[arg(long, default_value_t = 1_000_000)]
    pub rows: u64,
    /// Features of the generated blobs (ignored with --input).
    #[arg(long, default_value_t = 8)]
    pub dims: usize,
    /// Clusters (the blobs have as many centres).
    #[arg(long, default_value_t = 8)]
    pub k: usize,
    /// Lloyd iterations timed on each backend (no convergence test: tol 0).
    #[arg(long, default_value_t = 10)]
    pub iters: usize,
    /// Numeric CSV with a header to use instead of generated blobs.
    #[arg(long)]
    pub input: Option<PathBuf>,
    /// Backends to time, comma-separated (default: cpu, plus gpu when an adapter exists).
    #[arg(long, value_enum, value_delimiter = ',')]
    pub backends: Option<Vec<BackendArg>>,
    /// Seed of the generated data and of the shared k-means++ init.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Print a JSON list of objects instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Missing-value handling.
#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum ImputeArg {
    /// Column median.
    Median,
    /// Column mean.
    Mean,
    /// Reject the row.
    Drop,
}

/// Outlier handling.
#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum OutliersArg {
    /// Clip to the fence.
    Clip,
    /// Reject the row.
    Drop,
    /// Leave as is.
    Keep,
}

/// Outlier fence.
#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum OutlierMethodArg {
    /// Q1 − 1.5·IQR .. Q3 + 1.5·IQR.
    Iqr,
    /// Mean ± 3 standard deviations.
    Zscore,
}

/// Scaling.
#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum ScaleArg {
    /// Mean 0, standard deviation 1.
    Standard,
    /// Into [0, 1].
    Minmax,
    /// Median 0, IQR 1.
    Robust,
    /// Unscaled.
    None,
}

/// `segmenter demo`.
#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Customers to generate.
    #[arg(long, default_value_t = 1_000_000)]
    pub rows: u64,
    /// Seed of the generator and of k-means.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Keep the generated files here instead of a temporary directory.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// No progress spinners.
    #[arg(long)]
    pub quiet: bool,
}

/// `segmenter generate ...`.
#[derive(Subcommand, Debug)]
pub enum GenerateCommand {
    /// A synthetic e-commerce customer export with 4 planted segments and realistic dirt.
    Customers(CustomersArgs),
    /// Isotropic Gaussian blobs with header x0..x{D-1}.
    Blobs(BlobsArgs),
}

/// `segmenter generate customers`.
#[derive(Args, Debug)]
pub struct CustomersArgs {
    /// Data rows to write.
    #[arg(long)]
    pub rows: u64,
    /// Seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output CSV.
    #[arg(short = 'o', long = "output")]
    pub output: PathBuf,
    /// Also write `row,segment`: the planted segment of every data row (1-based).
    #[arg(long)]
    pub truth: Option<PathBuf>,
}

/// `segmenter generate blobs`.
#[derive(Args, Debug)]
pub struct BlobsArgs {
    /// Data rows to write.
    #[arg(long)]
    pub rows: u64,
    /// Features per row.
    #[arg(long)]
    pub dims: usize,
    /// Number of blobs; centres are uniform in [-10, 10] per feature.
    #[arg(long)]
    pub centers: usize,
    /// Standard deviation of every blob.
    #[arg(long, default_value_t = 1.0)]
    pub std: f64,
    /// Seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output CSV.
    #[arg(short = 'o', long = "output")]
    pub output: PathBuf,
    /// Also write `row,segment`: the blob of every data row (1-based).
    #[arg(long)]
    pub truth: Option<PathBuf>,
}

/// Initialisation methods.
#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum InitArg {
    /// Greedy k-means++ (2 + ln k candidates per step).
    #[value(name = "k-means++")]
    KMeansPlusPlus,
    /// k distinct random rows.
    Random,
    /// The first k rows.
    First,
}

/// Assignment kernels.
#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum AlgorithmArg {
    /// Hamerly when d is small enough for bounds to pay off, else Lloyd.
    Auto,
    /// Every distance every iteration.
    Lloyd,
    /// Hamerly's bounds skip points that cannot change cluster.
    Hamerly,
}

/// Backends.
#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum BackendArg {
    /// The GPU when a hardware adapter exists and the problem is large enough, else the CPU.
    Auto,
    /// The CPU (rayon, vectorised).
    Cpu,
    /// The GPU through wgpu (WGSL compute shaders).
    Gpu,
}

/// `segmenter kmeans`.
#[derive(Args, Debug)]
pub struct KMeansArgs {
    /// Numeric CSV with a header row; every column is a feature.
    pub file: PathBuf,
    /// Number of clusters.
    #[arg(long)]
    pub k: usize,
    /// How initial centroids are chosen.
    #[arg(long, value_enum, default_value = "k-means++")]
    pub init: InitArg,
    /// Independent runs; the lowest inertia wins.
    #[arg(long, default_value_t = 1)]
    pub n_init: usize,
    /// Iteration cap per run.
    #[arg(long, default_value_t = 300)]
    pub max_iter: usize,
    /// Stop when the squared centroid shift is at most tol × mean feature variance.
    #[arg(long, default_value_t = 1e-4, allow_negative_numbers = true)]
    pub tol: f64,
    /// Seed of every random choice.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Worker threads (default: every core). Results do not depend on it.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Assignment kernel.
    #[arg(long, value_enum, default_value = "auto")]
    pub algorithm: AlgorithmArg,
    /// Where the kernels run: auto takes the GPU only for a hardware adapter and a problem
    /// large enough to gain; gpu fails (exit 2) when wgpu finds no adapter.
    #[arg(long, value_enum, default_value = "auto")]
    pub backend: BackendArg,
    /// Write `row,cluster` (1-based rows) to this file.
    #[arg(long)]
    pub labels: Option<PathBuf>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}
