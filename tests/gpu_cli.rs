//! The binary's GPU-facing surface: `--backend`, `info`, `bench --json`, and the no-adapter
//! path (exit 2, one clear line). Hiding every adapter uses the Vulkan loader's
//! VK_ICD_FILENAMES with WGPU_BACKEND=vulkan, which leaves wgpu with none.

use std::path::Path;
use std::process::{Command, Output};

fn segmenter(args: &[&str], hide_gpu: bool) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_segmenter"));
    c.args(args);
    if hide_gpu {
        c.env("VK_ICD_FILENAMES", "/nonexistent.json")
            .env("WGPU_BACKEND", "vulkan");
    }
    c.output().expect("the segmenter binary runs")
}

fn stdout_json(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "exit {:?}, stderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("stdout is JSON")
}

/// Whether this machine has an adapter (lavapipe counts); SEGMENTER_REQUIRE_GPU=1 makes a
/// missing one a failure.
fn has_gpu() -> bool {
    let info = stdout_json(&segmenter(&["info", "--json"], false));
    let n = info["adapters"].as_array().map_or(0, |a| a.len());
    if n == 0 {
        assert_ne!(
            std::env::var("SEGMENTER_REQUIRE_GPU").as_deref(),
            Ok("1"),
            "SEGMENTER_REQUIRE_GPU=1 but `segmenter info` lists no adapter"
        );
        eprintln!("no GPU adapter: skipping the GPU half of this test");
    }
    n > 0
}

fn write_csv(dir: &Path, rows: usize, cols: usize) -> String {
    let path = dir.join("data.csv");
    let mut s: Vec<String> = vec![(0..cols)
        .map(|j| format!("x{j}"))
        .collect::<Vec<_>>()
        .join(",")];
    for i in 0..rows {
        s.push(
            (0..cols)
                .map(|j| format!("{}", ((i * 7 + j * 3) % 11) as f64 + (i % 3) as f64 * 20.0))
                .collect::<Vec<_>>()
                .join(","),
        );
    }
    std::fs::write(&path, s.join("\n") + "\n").expect("write csv");
    path.to_string_lossy().into_owned()
}

#[test]
fn backend_gpu_without_adapter_exits_2_with_one_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = write_csv(dir.path(), 50, 3);
    let out = segmenter(&["kmeans", &csv, "--k", "3", "--backend", "gpu"], true);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    let ours: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("segmenter:"))
        .collect();
    assert_eq!(ours.len(), 1, "one error line: {err}");
    assert!(ours[0].contains("no GPU adapter"), "{err}");
    assert!(ours[0].contains("--backend cpu"), "says what to do: {err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn backend_auto_and_cpu_without_adapter_use_the_cpu() {
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = write_csv(dir.path(), 60, 2);
    for backend in ["auto", "cpu"] {
        let s = stdout_json(&segmenter(
            &["kmeans", &csv, "--k", "3", "--backend", backend, "--json"],
            true,
        ));
        assert_eq!(s["backend"], "cpu", "--backend {backend}");
        assert_eq!(s["device_type"], "cpu");
        assert_eq!(s["n"], 60);
    }
}

#[test]
fn info_json_lists_adapters_and_the_auto_choice() {
    let hidden = stdout_json(&segmenter(&["info", "--json"], true));
    assert_eq!(hidden["adapters"].as_array().map(|a| a.len()), Some(0));
    assert_eq!(hidden["auto"]["backend"], "cpu");
    assert!(hidden["auto"]["reason"]
        .as_str()
        .is_some_and(|r| r.contains("no GPU adapter")));
    assert!(hidden["auto_rule"]
        .as_str()
        .is_some_and(|r| r.contains("d <= 64")));

    if !has_gpu() {
        return;
    }
    let info = stdout_json(&segmenter(&["info", "--json"], false));
    let first = &info["adapters"][0];
    for key in ["name", "backend", "device_type", "driver", "hardware"] {
        assert!(!first[key].is_null(), "adapter key {key}: {first}");
    }
    for key in [
        "max_storage_buffer_binding_size",
        "max_buffer_size",
        "max_compute_workgroups_per_dimension",
    ] {
        assert!(
            first["limits"][key].as_u64().is_some_and(|v| v > 0),
            "{key}"
        );
    }
    // A software rasterizer never wins `auto`.
    if first["hardware"] == false {
        assert_eq!(info["auto"]["backend"], "cpu");
    }
    let text = String::from_utf8_lossy(&segmenter(&["info"], false).stdout).into_owned();
    assert!(text.contains("--backend auto"), "{text}");
}

const BENCH_KEYS: [&str; 14] = [
    "backend",
    "adapter",
    "device_type",
    "kernel",
    "upload_seconds",
    "ms_per_iter",
    "inertia",
    "agreement",
    // Issue 17: achieved bandwidth and the memory floor (null on CPU rows).
    "bytes_per_iter",
    "gbs",
    "peak_gbs",
    "peak_source",
    "floor_ms",
    "x_floor",
];

#[test]
fn bench_json_has_the_contract_keys() {
    let gpu = has_gpu();
    let backends = if gpu { "cpu,gpu" } else { "cpu" };
    let rows = stdout_json(&segmenter(
        &[
            "bench",
            "--rows",
            "5000",
            "--dims",
            "4",
            "--k",
            "3",
            "--iters",
            "3",
            "--backends",
            backends,
            "--json",
        ],
        false,
    ));
    let rows = rows.as_array().expect("a JSON list");
    assert_eq!(rows.len(), if gpu { 2 } else { 1 });
    for r in rows {
        let mut keys: Vec<&str> = r
            .as_object()
            .expect("an object")
            .keys()
            .map(|k| k.as_str())
            .collect();
        keys.sort();
        let mut want = BENCH_KEYS.to_vec();
        want.sort();
        assert_eq!(keys, want);
        assert!(r["ms_per_iter"].as_f64().is_some_and(|v| v > 0.0));
        assert!(r["agreement"].as_f64().is_some_and(|v| v >= 0.9999), "{r}");
    }
    assert_eq!(rows[0]["backend"], "cpu");
    assert_eq!(rows[0]["agreement"], 1.0);
    let isa = ["avx512f", "avx2", "portable"].map(|i| format!("lloyd ({i})"));
    assert!(
        isa.iter().any(|k| rows[0]["kernel"] == k.as_str()),
        "{}",
        rows[0]
    );
    if gpu {
        assert_eq!(rows[1]["backend"], "gpu");
        // 5,000 × 4 at k = 3: the broadcast kernel, in one pass and one submission.
        let kernel = rows[1]["kernel"].as_str().unwrap_or("");
        assert!(
            kernel.starts_with("broadcast, ") && kernel.ends_with(" cells, 1 pass in 1 submission"),
            "{kernel}"
        );
        let (a, b) = (
            rows[0]["inertia"].as_f64().unwrap_or(0.0),
            rows[1]["inertia"].as_f64().unwrap_or(-1.0),
        );
        assert!((a - b).abs() <= 1e-5 * a, "inertia {a} vs {b}");
    }
    let text = String::from_utf8_lossy(
        &segmenter(
            &[
                "bench",
                "--rows",
                "2000",
                "--dims",
                "2",
                "--k",
                "2",
                "--iters",
                "1",
                "--backends",
                "cpu",
            ],
            false,
        )
        .stdout,
    )
    .into_owned();
    assert!(
        text.contains("ms/iter") && text.contains("agreement"),
        "{text}"
    );
}

#[test]
fn bench_gpu_without_adapter_exits_2() {
    let out = segmenter(
        &[
            "bench",
            "--rows",
            "1000",
            "--dims",
            "2",
            "--k",
            "2",
            "--backends",
            "gpu",
        ],
        true,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no GPU adapter"));
}

#[test]
fn kmeans_on_the_gpu_reports_the_adapter_and_matches_the_cpu() {
    if !has_gpu() {
        return;
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = write_csv(dir.path(), 3000, 3);
    let args = |b: &'static str| {
        [
            "kmeans",
            "--k",
            "3",
            "--backend",
            b,
            "--json",
            "--seed",
            "4",
        ]
    };
    let run = |b: &'static str| {
        let a = args(b);
        let mut v: Vec<&str> = vec![a[0], &csv];
        v.extend_from_slice(&a[1..]);
        stdout_json(&segmenter(&v, false))
    };
    let g = run("gpu");
    let c = run("cpu");
    assert_eq!(g["backend"], "gpu");
    assert!(g["adapter"].as_str().is_some_and(|a| !a.is_empty()));
    assert_eq!(g["algorithm"], "lloyd", "the GPU runs Lloyd and says so");
    assert_eq!(g["sizes"], c["sizes"]);
    let (a, b) = (
        c["inertia"].as_f64().unwrap_or(0.0),
        g["inertia"].as_f64().unwrap_or(-1.0),
    );
    assert!(
        (a - b).abs() <= 1e-5 * a.abs().max(1.0),
        "inertia {a} vs {b}"
    );

    // Forced chunks of 700 points through the environment: same answer.
    let mut v = vec!["kmeans", csv.as_str()];
    v.extend_from_slice(&args("gpu")[1..]);
    let chunked = Command::new(env!("CARGO_BIN_EXE_segmenter"))
        .args(&v)
        .env("SEGMENTER_GPU_CHUNK_POINTS", "700")
        .output()
        .expect("the segmenter binary runs");
    let chunked = stdout_json(&chunked);
    assert_eq!(chunked["sizes"], c["sizes"]);
    // Other tiles mean other f32 partial sums: equal up to rounding, not bit for bit.
    let flat = |v: &serde_json::Value| -> Vec<f64> {
        v.as_array()
            .into_iter()
            .flatten()
            .flat_map(|r| {
                r.as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|x| x.as_f64())
            })
            .collect()
    };
    let (a, b) = (flat(&chunked["centroids"]), flat(&g["centroids"]));
    assert_eq!(a.len(), 9);
    for (x, y) in a.iter().zip(&b) {
        assert!(
            (x - y).abs() <= 1e-5 * x.abs().max(1.0),
            "centroid {x} vs {y}"
        );
    }
    let bad = Command::new(env!("CARGO_BIN_EXE_segmenter"))
        .args(&v)
        .env("SEGMENTER_GPU_CHUNK_POINTS", "lots")
        .output()
        .expect("the segmenter binary runs");
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("SEGMENTER_GPU_CHUNK_POINTS='lots'"));
    let bad = Command::new(env!("CARGO_BIN_EXE_segmenter"))
        .args(&v)
        .env("SEGMENTER_GPU_ACCUMULATOR", "int128")
        .output()
        .expect("the segmenter binary runs");
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&bad.stderr)
            .contains("SEGMENTER_GPU_ACCUMULATOR='int128' is neither 'int64' nor 'carry'"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
    for (var, value, want) in [
        (
            "SEGMENTER_GPU_KERNEL",
            "gemm",
            "SEGMENTER_GPU_KERNEL='gemm' is neither 'broadcast' nor 'tiled'",
        ),
        (
            "SEGMENTER_GPU_ARGMIN",
            "warp",
            "SEGMENTER_GPU_ARGMIN='warp' is neither 'subgroup' nor 'workgroup'",
        ),
    ] {
        let bad = Command::new(env!("CARGO_BIN_EXE_segmenter"))
            .args(&v)
            .env(var, value)
            .output()
            .expect("the segmenter binary runs");
        assert_eq!(bad.status.code(), Some(2));
        let err = String::from_utf8_lossy(&bad.stderr);
        assert!(err.contains(want), "{err}");
    }

    // 65 features: a clear message, exit 2.
    let wide = write_csv(dir.path(), 20, 65);
    let out = segmenter(&["kmeans", &wide, "--k", "2", "--backend", "gpu"], false);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("at most 64 features"));
}

#[test]
fn bench_agrees_with_the_carry_accumulator_forced() {
    // lavapipe has 64-bit atomics, so the int64 accumulator is its default; forcing the
    // 2 × u32 carry form through the environment runs what adapters without them run.
    if !has_gpu() {
        return;
    }
    let out = Command::new(env!("CARGO_BIN_EXE_segmenter"))
        .args([
            "bench",
            "--rows",
            "70000",
            "--dims",
            "5",
            "--k",
            "6",
            "--iters",
            "3",
            "--backends",
            "cpu,gpu",
            "--json",
        ])
        .env("SEGMENTER_GPU_ACCUMULATOR", "carry")
        .output()
        .expect("the segmenter binary runs");
    let rows = stdout_json(&out);
    let (c, g) = (&rows[0], &rows[1]);
    assert_eq!(g["backend"], "gpu");
    assert!(g["agreement"].as_f64().is_some_and(|a| a >= 0.9999), "{g}");
    let kernel = g["kernel"].as_str().unwrap_or("");
    assert!(
        kernel.starts_with("broadcast, carry accumulator, "),
        "{kernel}"
    );
    let (a, b) = (
        c["inertia"].as_f64().unwrap_or(0.0),
        g["inertia"].as_f64().unwrap_or(-1.0),
    );
    assert!((a - b).abs() <= 1e-5 * a, "inertia {a} vs {b}");
    // The memory floor: 70,000 × (4·5 + 8) bytes per iteration, at the probed bandwidth.
    assert_eq!(g["bytes_per_iter"].as_f64(), Some(70_000.0 * 28.0));
    assert_eq!(g["peak_source"], "probe");
    let peak = g["peak_gbs"].as_f64().expect("a probed peak");
    assert!(peak > 0.0 && peak.is_finite(), "{g}");
    let ms = g["ms_per_iter"].as_f64().expect("ms per iteration");
    let gbs = g["gbs"].as_f64().expect("achieved GB/s");
    assert!(
        (gbs - 70_000.0 * 28.0 / (ms * 1e6)).abs() <= 1e-9 * gbs,
        "{g}"
    );
    let floor = g["floor_ms"].as_f64().expect("a floor");
    assert!(
        (floor - 70_000.0 * 28.0 / (peak * 1e6)).abs() <= 1e-9 * floor,
        "{g}"
    );
    assert!((g["x_floor"].as_f64().expect("a ratio") - ms / floor).abs() <= 1e-9 * ms / floor);
    assert!(c["x_floor"].is_null(), "the CPU row has no GPU floor: {c}");
}

#[test]
fn bench_takes_a_given_peak_bandwidth_and_refuses_a_bad_one() {
    if !has_gpu() {
        return;
    }
    let run = |peak: &str| {
        Command::new(env!("CARGO_BIN_EXE_segmenter"))
            .args([
                "bench",
                "--rows",
                "5000",
                "--dims",
                "4",
                "--k",
                "3",
                "--iters",
                "2",
                "--backends",
                "gpu",
                "--json",
                "--peak-gbs",
                peak,
            ])
            .output()
            .expect("the segmenter binary runs")
    };
    let rows = stdout_json(&run("50"));
    let g = &rows[0];
    assert_eq!(g["peak_source"], "given");
    assert_eq!(g["peak_gbs"].as_f64(), Some(50.0));
    // 5,000 × 24 bytes at 50 GB/s: 2.4 µs.
    let floor = g["floor_ms"].as_f64().expect("a floor");
    assert!((floor - 0.0024).abs() < 1e-12, "{g}");
    let bad = run("0");
    assert_eq!(bad.status.code(), Some(2));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.contains("the peak bandwidth must be a positive number of GB/s, not 0"),
        "{err}"
    );
}

#[test]
fn bench_names_the_kernel_each_forced_variant_ran() {
    // Each GPU variant forced through the environment is the one `bench` reports, and it
    // agrees with the CPU.
    if !has_gpu() {
        return;
    }
    for (env, want) in [
        (
            vec![
                ("SEGMENTER_GPU_KERNEL", "tiled"),
                ("SEGMENTER_GPU_ARGMIN", "workgroup"),
            ],
            "tiled, workgroup argmin, ",
        ),
        (
            vec![
                ("SEGMENTER_GPU_KERNEL", "tiled"),
                ("SEGMENTER_GPU_ACCUMULATOR", "carry"),
            ],
            "tiled, ",
        ),
        (
            vec![("SEGMENTER_GPU_KERNEL", "broadcast")],
            "broadcast, int64 accumulator, ",
        ),
    ] {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_segmenter"));
        cmd.args([
            "bench",
            "--rows",
            "3000",
            "--dims",
            "8",
            "--k",
            "20",
            "--iters",
            "2",
            "--backends",
            "cpu,gpu",
            "--json",
        ]);
        for (k, v) in &env {
            cmd.env(k, v);
        }
        let rows = stdout_json(&cmd.output().expect("the segmenter binary runs"));
        let g = &rows[1];
        let kernel = g["kernel"].as_str().unwrap_or("");
        assert!(kernel.starts_with(want), "{env:?}: {kernel}");
        if env.iter().any(|e| e.1 == "carry") {
            assert!(kernel.contains(", carry accumulator, "), "{kernel}");
        }
        assert!(g["agreement"].as_f64().is_some_and(|a| a >= 0.9999), "{g}");
    }
}
