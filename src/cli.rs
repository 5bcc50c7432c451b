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
    /// Where the kernels run.
    #[arg(long, value_enum, default_value = "cpu")]
    pub backend: BackendArg,
    /// Write `row,cluster` (1-based rows) to this file.
    #[arg(long)]
    pub labels: Option<PathBuf>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}
