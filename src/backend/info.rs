//! `segmenter info`: the adapters wgpu can see and what `--backend auto` would pick.

use crate::backend::gpu::{self, AdapterSummary, AutoChoice, AUTO_MIN_WORK, MAX_DIMS};
use crate::backend::Problem;
use serde::Serialize;

/// The problem `info` asks `auto` about: large enough that only the adapter decides.
pub const REFERENCE_PROBLEM: Problem = Problem {
    n: 1_000_000,
    d: 16,
    k: 16,
};

/// What `info --json` prints.
#[derive(Clone, Debug, Serialize)]
pub struct InfoReport {
    /// Every adapter, in the order the GPU backend prefers them (it uses the first).
    pub adapters: Vec<AdapterSummary>,
    /// What `auto` picks for `REFERENCE_PROBLEM` (1M rows × 16 features, k = 16), and why.
    pub auto: AutoChoice,
    /// The rule `auto` applies to every problem.
    pub auto_rule: String,
}

/// Lists adapters and asks `auto` about the reference problem.
pub fn run_info() -> InfoReport {
    InfoReport {
        adapters: gpu::list_adapters(),
        auto: gpu::auto_choice(REFERENCE_PROBLEM),
        auto_rule: format!(
            "gpu when the first adapter is real GPU hardware (not a software rasterizer such as \
             lavapipe), d <= {MAX_DIMS} and n*k*d >= {AUTO_MIN_WORK}; otherwise cpu"
        ),
    }
}
