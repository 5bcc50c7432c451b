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
// Parsed once per process: the size of the largest variant costs nothing worth a Box.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Generate the built-in customer table into a temporary directory and segment it.
    Demo(DemoArgs),
    /// Write synthetic data sets (customer exports, Gaussian blobs).
    #[command(subcommand)]
    Generate(GenerateCommand),
    /// k-means on a numeric CSV with a header, every column a feature.
    Kmeans(KMeansArgs),
    /// Turn a transaction or clickstream log into one row per customer.
    #[command(subcommand)]
    Features(FeaturesCommand),
    /// List the GPU adapters wgpu can see, their limits, and what `--backend auto` would pick.
    Info(InfoArgs),
    /// Time the same k-means (same data, same init, fixed iterations) on each backend.
    Bench(BenchArgs),
    /// Segment a customer table: clean, scale, choose k, cluster, project, profile, report.
    Run(Box<RunArgs>),
    /// Assign the rows of a table to the segments of a saved model.json.
    Predict(PredictArgs),
    /// Serve a model over HTTP (`POST /v1/predict`, `GET /v1/model`, `/healthz`, `/metrics`)
    /// and, with --run, the segment dashboard at `/`; reloads the model when its file is
    /// replaced.
    Serve(ServeArgs),
}

/// `segmenter serve`.
#[derive(Args, Debug)]
pub struct ServeArgs {
    /// model.json written by `segmenter run` (watched: a replaced file is loaded, a broken
    /// one refused while the old model keeps serving).
    #[arg(long)]
    pub model: PathBuf,
    /// The run's output directory (its summary.json): serves the dashboard at `/`.
    #[arg(long)]
    pub run: Option<PathBuf>,
    /// Address to listen on; the loopback interface unless told otherwise (port 0 picks a
    /// free port; the bound address is printed on the first line of stdout).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: std::net::SocketAddr,
    /// File whose first line is the token every request except /healthz must send as
    /// `Authorization: Bearer <token>`.
    #[arg(long)]
    pub token_file: Option<PathBuf>,
    /// Largest request body in bytes (larger: 413).
    #[arg(long, default_value_t = 16 << 20)]
    pub max_body: usize,
    /// Most rows (records) in one request (more: 413).
    #[arg(long, default_value_t = 100_000)]
    pub max_rows: usize,
    /// Seconds a request may take, reading its body included (longer: 408).
    #[arg(long, default_value_t = 30.0)]
    pub timeout: f64,
    /// Worker threads (default: one per core).
    #[arg(long)]
    pub threads: Option<usize>,
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
    /// Customer table: CSV with a header row (`,` `;` or tab detected; UTF-8, a BOM is fine),
    /// .csv.gz, SQLite (.db, .sqlite; see --table, --query), Parquet, or a spreadsheet
    /// (.xlsx, .xls, .ods; see --sheet). With --from, a transaction or event log in any of
    /// these formats.
    pub file: PathBuf,
    /// Directory for segments.csv, rejects.csv, profile.csv, model.json, report.md,
    /// report.html and plots/ (created if needed).
    #[arg(long, default_value = "segmenter-out")]
    pub out: PathBuf,
    /// Format of the segmented table: segments.csv, or segments.parquet (much smaller and
    /// faster at millions of rows); the other outputs are the same.
    #[arg(long, value_enum, default_value = "csv", value_name = "FORMAT")]
    pub output_format: OutputFormatArg,
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
    /// Clustering algorithm whose segments are written: k-means; DBSCAN (dense regions, noise
    /// labelled -1; see --eps, --min-samples); hierarchical (Ward, cut at --k; exact up to
    /// 20,000 rows, above that Ward on --micro-clusters k-means micro-clusters); k-prototypes
    /// (numeric distance + γ × categorical mismatches, no one-hot; see --gamma).
    #[arg(long, value_enum, default_value = "kmeans")]
    pub algorithm: ClusterAlgorithmArg,
    /// Also run these algorithms on the same scaled data and tabulate clusters, noise share,
    /// silhouette and time in the report: `--compare` for all four, or
    /// `--compare=kmeans,dbscan`. Segments and model come from --algorithm.
    #[arg(long, value_name = "ALGORITHMS", num_args = 0..=1, require_equals = true, default_missing_value = "all")]
    pub compare: Option<String>,
    /// DBSCAN neighbourhood radius, in the units of the scaled features; left out, it is
    /// suggested from the knee of the sorted k-distance curve (and the report says so).
    #[arg(long, allow_negative_numbers = true)]
    pub eps: Option<f64>,
    /// DBSCAN: neighbours (the row itself included, as scikit-learn counts) that make a row a
    /// core row [default: twice the number of features].
    #[arg(long)]
    pub min_samples: Option<usize>,
    /// k-prototypes weight of one categorical mismatch against squared numeric distance
    /// [default: half the mean standard deviation of the scaled numeric features, after Huang].
    #[arg(long, allow_negative_numbers = true)]
    pub gamma: Option<f64>,
    /// Hierarchical above 20,000 rows: k-means micro-clusters that Ward then merges.
    #[arg(long, default_value_t = 1000)]
    pub micro_clusters: usize,
    /// Where k-means runs (also the micro-clusters of hierarchical).
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
    /// Work in passes over the file (a spill on disk beside the outputs; peak memory about
    /// flat in the rows; k-means only). Chosen by itself when a plain CSV is larger than a
    /// third of the available memory.
    #[arg(long)]
    pub low_memory: bool,
    #[command(flatten)]
    pub from: FromArgs,
    #[command(flatten)]
    pub input: InputArgs,
    /// Decimal separator of a CSV table (default: detected: a decimal comma such as 33,7078
    /// in a `;` or tab separated file; `.` then separates thousands).
    #[arg(
        long,
        value_enum,
        value_name = "SEP",
        help_heading = "Reading the input"
    )]
    pub decimal: Option<DecimalArg>,
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
    #[command(flatten)]
    pub input: InputArgs,
    /// Decimal separator of a CSV table (default: detected, as `run` does).
    #[arg(long, value_enum, value_name = "SEP")]
    pub decimal: Option<DecimalArg>,
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
    /// GPU memory bandwidth in GB/s for the memory-floor ratio (default: a short device probe).
    #[arg(long)]
    pub peak_gbs: Option<f64>,
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
    /// A synthetic e-commerce customer export with 4 (or 5) planted segments and realistic dirt.
    Customers(CustomersGenArgs),
    /// Isotropic Gaussian blobs with header x0..x{D-1}.
    Blobs(BlobsArgs),
    /// A mall-style table mixing categorical (gender, city, membership) and numeric columns,
    /// 4 planted segments, two of them told apart only by their categories.
    Mixed(CustomersArgs),
    /// A coupon-and-loyalty customer table: 4 planted segments in the numbers, gender, city
    /// and transaction status drawn independently of them.
    Shoppers(CustomersArgs),
    /// Invoice lines (Online Retail layout) with cancellations, missing ids, 4 planted groups
    /// (or 3 basket behaviours with --groups baskets).
    Transactions(TransactionsArgs),
    /// A view/cart/purchase clickstream with sessions and 4 planted funnel groups.
    Events(EventsGenArgs),
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

/// `segmenter generate customers`: the common flags and the number of planted segments.
#[derive(Args, Debug)]
pub struct CustomersGenArgs {
    /// Rows, seed, output and truth.
    #[command(flatten)]
    pub common: CustomersArgs,
    /// Planted segments: 4, or 5 (the four and long-time members, some centres closer).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u8).range(4..=5))]
    pub segments: u8,
}

/// Planted groups of `generate transactions`.
#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum TxGroupsArg {
    /// Champions, regulars, lapsed and one-off buyers.
    Rfm,
    /// Frequent small, monthly mid-sized and rare big baskets.
    Baskets,
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
    /// Hamerly where bounds pay off (k >= 3 with d <= 32, or any d from k = 32), else Lloyd.
    Auto,
    /// Every distance every iteration.
    Lloyd,
    /// Hamerly's bounds skip points that cannot change cluster.
    Hamerly,
    /// Lloyd's results from a register-blocked distance kernel (fast at large k).
    Blocked,
}

/// Clustering algorithms of `run`.
#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum ClusterAlgorithmArg {
    /// k-means (the default).
    Kmeans,
    /// Density-based clustering; sparse rows are noise (-1).
    Dbscan,
    /// Agglomerative clustering, Ward's criterion.
    Hierarchical,
    /// k-prototypes for mixed numeric and categorical columns.
    Kprototypes,
}

/// `--output-format`.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputFormatArg {
    /// segments.csv
    Csv,
    /// segments.parquet
    Parquet,
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

/// `segmenter generate transactions`.
#[derive(Args, Debug)]
pub struct TransactionsArgs {
    /// Customers to generate (each has one or more invoices).
    #[arg(long)]
    pub customers: u64,
    /// Seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output CSV (gzip-compressed when the name ends in .gz).
    #[arg(short = 'o', long = "output")]
    pub output: PathBuf,
    /// Also write `customer_id,group`: the planted group of every customer (0-based).
    #[arg(long)]
    pub truth: Option<PathBuf>,
    /// Which planted groups the customers come from.
    #[arg(long, value_enum, default_value = "rfm")]
    pub groups: TxGroupsArg,
}

/// `segmenter generate events`.
#[derive(Args, Debug)]
pub struct EventsGenArgs {
    /// Users to generate.
    #[arg(long)]
    pub users: u64,
    /// Seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output CSV (gzip-compressed when the name ends in .gz).
    #[arg(
        short = 'o',
        long = "output",
        required_unless_present = "sqlite",
        conflicts_with = "sqlite"
    )]
    pub output: Option<PathBuf>,
    /// Write a SQLite database with an `events` table instead of a CSV.
    #[arg(long)]
    pub sqlite: Option<PathBuf>,
    /// Also write `user_id,group`: the planted funnel group of every user (0-based).
    #[arg(long)]
    pub truth: Option<PathBuf>,
}

/// `segmenter features ...`.
#[derive(Subcommand, Debug)]
pub enum FeaturesCommand {
    /// RFM per customer from invoice lines: recency_days, frequency, monetary, tenure_days,
    /// avg_order_value, return_rate, r/f/m quintile scores and rfm_segment.
    Rfm(RfmArgs),
    /// Behaviour per user from view/cart/purchase events: counts, sessions, funnel ratios,
    /// distinct products/categories/brands, spend, recency, active days, session length.
    Events(EventsArgs),
}

/// Input and output options shared by `features rfm` and `features events`.
#[derive(Args, Debug)]
pub struct LogArgs {
    /// The log: CSV (or .csv.gz), SQLite (.db, .sqlite, .sqlite3), Parquet (.parquet) or a
    /// spreadsheet (.xlsx, .xls, .ods).
    pub file: PathBuf,
    /// The per-customer table to write (CSV).
    #[arg(short = 'o', long = "output")]
    pub output: PathBuf,
    /// Rejected lines: `row,customer_id,reason,detail` (default: beside the output, NAME.rejects.csv).
    #[arg(long)]
    pub rejects: Option<PathBuf>,
    #[command(flatten)]
    pub input: InputArgs,
    /// Reference date for recency and tenure (default: the day after the latest date);
    /// later lines are rejected.
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<String>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `segmenter features rfm`.
#[derive(Args, Debug)]
pub struct RfmArgs {
    #[command(flatten)]
    pub log: LogArgs,
    /// Customer id column (default: CustomerID, customer_id, Customer ID, ...).
    #[arg(long, value_name = "COL")]
    pub customer: Option<String>,
    /// Date column (default: InvoiceDate, date, event_time, ...).
    #[arg(long, value_name = "COL")]
    pub date: Option<String>,
    /// Line value column; instead of --quantity and --price.
    #[arg(long, value_name = "COL")]
    pub amount: Option<String>,
    /// Quantity column (default: Quantity).
    #[arg(long, value_name = "COL")]
    pub quantity: Option<String>,
    /// Unit price column (default: UnitPrice, price).
    #[arg(long, value_name = "COL")]
    pub price: Option<String>,
    /// Invoice column (default: InvoiceNo, Invoice); without one, frequency counts purchase days.
    #[arg(long, value_name = "COL")]
    pub invoice: Option<String>,
}

/// `segmenter features events`.
#[derive(Args, Debug)]
pub struct EventsArgs {
    #[command(flatten)]
    pub log: LogArgs,
    /// User id column (default: user_id).
    #[arg(long, value_name = "COL")]
    pub user: Option<String>,
    /// Event time column (default: event_time, timestamp).
    #[arg(long, value_name = "COL")]
    pub time: Option<String>,
    /// Event type column, values view/cart/purchase (default: event_type).
    #[arg(long = "type", value_name = "COL")]
    pub kind: Option<String>,
    /// Session column (default: user_session); without one, 30-minute gaps split sessions.
    #[arg(long, value_name = "COL")]
    pub session: Option<String>,
    /// Product column (default: product_id).
    #[arg(long, value_name = "COL")]
    pub product: Option<String>,
    /// Category column (default: category_code, category_id).
    #[arg(long, value_name = "COL")]
    pub category: Option<String>,
    /// Brand column (default: brand).
    #[arg(long, value_name = "COL")]
    pub brand: Option<String>,
    /// Price column (default: price); spend sums it over purchases.
    #[arg(long, value_name = "COL")]
    pub price: Option<String>,
    #[command(flatten)]
    pub vocab: EventVocabArgs,
    /// Aggregating threads (default: every core, at most 4). Results do not depend on it.
    #[arg(long)]
    pub threads: Option<usize>,
}

/// Which event types are views, carts and purchases (case-insensitive, comma lists).
#[derive(Args, Debug, Default, Clone)]
pub struct EventVocabArgs {
    /// events: event types counted as views (default: view, page_view, product_view).
    #[arg(long, value_name = "TYPE,..", value_delimiter = ',')]
    pub view_events: Vec<String>,
    /// events: event types counted as add-to-cart (default: cart, add_to_cart, addtocart).
    #[arg(long, value_name = "TYPE,..", value_delimiter = ',')]
    pub cart_events: Vec<String>,
    /// events: event types counted as purchases (default: purchase, transaction).
    #[arg(long, value_name = "TYPE,..", value_delimiter = ',')]
    pub purchase_events: Vec<String>,
}

/// How an input is read: SQLite table or query, spreadsheet sheet, date forms.
#[derive(Args, Debug, Default, Clone)]
#[command(next_help_heading = "Reading the input")]
pub struct InputArgs {
    /// SQLite: the table to read (default: the only table).
    #[arg(long)]
    pub table: Option<String>,
    /// SQLite: a query whose result is read instead of a table.
    #[arg(long)]
    pub query: Option<String>,
    /// Spreadsheets (.xlsx, .xls, .ods): the sheet to read (default: the first).
    #[arg(long, value_name = "NAME")]
    pub sheet: Option<String>,
    /// Read slash dates as D/M/YYYY (day first) instead of M/D/YYYY; without it a date column
    /// whose first parts go above 12 is read day first.
    #[arg(long)]
    pub dayfirst: bool,
    /// The one format every date follows, strftime-style (%d.%m.%Y, %Y%m%d, %d %b %Y %H:%M),
    /// instead of the recognised forms (ISO 8601, M/D/YYYY, D.M.YYYY, YYYYMMDD, 18-Apr-2021,
    /// Apr 18, 2021).
    #[arg(long, value_name = "FMT")]
    pub date_format: Option<String>,
}

/// The decimal separator of a text table.
#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum DecimalArg {
    /// `1234.56`
    #[value(name = ".")]
    Point,
    /// `1234,56` (with `.` as thousands separator: `1.234,56`)
    #[value(name = ",")]
    Comma,
}

/// Kinds of log `run --from` derives a customer table from.
#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum FromKind {
    /// Invoice lines: RFM features as `features rfm` writes them.
    Transactions,
    /// view/cart/purchase events: behaviour features as `features events` writes them.
    Events,
}

/// `segmenter run --from`: segment customers from a log (the derived table is written to
/// OUT/customers.csv, keyed by customer_id; skewed columns get log1p unless --log is given).
#[derive(Args, Debug, Default)]
#[command(next_help_heading = "With --from (a transaction or event log; these apply only there)")]
pub struct FromArgs {
    /// The input is a log to derive one row per customer from.
    #[arg(long, value_enum)]
    pub from: Option<FromKind>,
    /// Reference date for recency and tenure (default: the day after the latest date).
    #[arg(long, value_name = "DATE", requires = "from")]
    pub as_of: Option<String>,
    /// transactions: customer id column.
    #[arg(long, value_name = "COL", requires = "from")]
    pub customer: Option<String>,
    /// transactions: date column.
    #[arg(long, value_name = "COL", requires = "from")]
    pub date: Option<String>,
    /// transactions: line value column (instead of --quantity and --price).
    #[arg(long, value_name = "COL", requires = "from")]
    pub amount: Option<String>,
    /// transactions: quantity column.
    #[arg(long, value_name = "COL", requires = "from")]
    pub quantity: Option<String>,
    /// transactions: unit price column; events: price column.
    #[arg(long, value_name = "COL", requires = "from")]
    pub price: Option<String>,
    /// transactions: invoice column.
    #[arg(long, value_name = "COL", requires = "from")]
    pub invoice: Option<String>,
    /// events: user id column.
    #[arg(long, value_name = "COL", requires = "from")]
    pub user: Option<String>,
    /// events: event time column.
    #[arg(long, value_name = "COL", requires = "from")]
    pub time: Option<String>,
    /// events: event type column.
    #[arg(long = "type", value_name = "COL", requires = "from")]
    pub kind: Option<String>,
    /// events: session column.
    #[arg(long, value_name = "COL", requires = "from")]
    pub session: Option<String>,
    /// events: product column.
    #[arg(long, value_name = "COL", requires = "from")]
    pub product: Option<String>,
    /// events: category column.
    #[arg(long, value_name = "COL", requires = "from")]
    pub category: Option<String>,
    /// events: brand column.
    #[arg(long, value_name = "COL", requires = "from")]
    pub brand: Option<String>,
    #[command(flatten)]
    pub vocab: EventVocabArgs,
}
