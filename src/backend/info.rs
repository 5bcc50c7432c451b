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

impl InfoReport {
    /// Human-readable listing.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        if self.adapters.is_empty() {
            s += "GPU adapters: none (wgpu found no Vulkan, Metal, DX12 or GL adapter)\n";
        } else {
            s += &format!("GPU adapters ({}, preferred first):\n", self.adapters.len());
        }
        for (i, a) in self.adapters.iter().enumerate() {
            let l = &a.limits;
            s += &format!(
                "  {i}: {} — {} {}{}\n     driver: {}\n     max storage binding {} MiB, max buffer {} MiB, \
                 {} workgroups per dimension, {} invocations per workgroup, {} KiB workgroup memory\n",
                a.name,
                a.backend,
                a.device_type,
                if a.hardware { "" } else { " (not GPU hardware)" },
                if a.driver.is_empty() { "?" } else { &a.driver },
                l.max_storage_buffer_binding_size >> 20,
                l.max_buffer_size >> 20,
                l.max_compute_workgroups_per_dimension,
                l.max_compute_invocations_per_workgroup,
                l.max_compute_workgroup_storage_size >> 10,
            );
        }
        let p = REFERENCE_PROBLEM;
        s += &format!(
            "--backend auto for {} rows × {} features, k = {}: {} ({})\nrule: {}\n",
            p.n, p.d, p.k, self.auto.backend, self.auto.reason, self.auto_rule
        );
        s
    }
}
