//! Every file `run` writes, pinned by a checked-in hash: a change to any byte of segments.csv,
//! rejects.csv, profile.csv, model.json, the plots or the report (timings aside) fails here.
//! `BLESS=1 cargo test --release --test outputs_hash` rewrites tests/golden/outputs.txt; the
//! diff is reviewed in the commit. The hashes were taken with the binary from before the
//! library refactor (issue 11) and are unchanged by it.

mod common;

use common::cli::{run_ok, s, segmenter};
use std::path::Path;

/// 64-bit FNV-1a: enough to pin bytes, no dependency.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

/// report.md without what varies from run to run or machine to machine: the seconds of each
/// k's fit, of each compared algorithm and of each stage, the temporary directory and the
/// adapter's name.
fn report_without_timings(text: &str, dir: &Path) -> String {
    let text = text.replace(s(dir), "DIR");
    let mut out = String::new();
    let mut in_timings = false;
    for line in text.lines() {
        if line.starts_with("| stage | seconds |") {
            in_timings = true;
        } else if !line.starts_with('|') {
            in_timings = false;
        }
        // The adapter names the machine's CPU or GPU: the same run elsewhere must hash the same.
        let named;
        let line = match (line.find(", backend "), line.find("), seed ")) {
            (Some(a), Some(b)) if line.starts_with("segmenter ") && a < b => {
                let open = a + line[a..].find(" (").unwrap_or(b - a);
                named = format!("{} (ADAPTER{}", &line[..open], &line[b..]);
                named.as_str()
            }
            _ => line,
        };
        let line = if in_timings {
            ""
        } else if line.starts_with("| ") && line.ends_with(" |") && line.matches('|').count() == 7 {
            // A row of the k table: its last cell is the fit's seconds.
            line.rsplitn(3, '|').nth(2).unwrap_or(line)
        } else if line.starts_with("| ") && line.matches('|').count() == 9 {
            // A row of the comparison: its seventh cell is the algorithm's seconds.
            let cells: Vec<&str> = line.split('|').collect();
            let kept: String = cells[..7].join("|") + "|" + &cells[8..].join("|");
            out.push_str(&kept);
            out.push('\n');
            continue;
        } else {
            line
        };
        out.push_str(line);
        out.push('\n');
    }
    out
}

fn hashes(out: &Path, dir: &Path) -> String {
    let mut lines = Vec::new();
    let mut files: Vec<_> = ["segments.csv", "rejects.csv", "profile.csv", "model.json"]
        .iter()
        .map(|f| f.to_string())
        .collect();
    let mut plots: Vec<String> = std::fs::read_dir(out.join("plots"))
        .unwrap()
        .map(|e| format!("plots/{}", e.unwrap().file_name().to_string_lossy()))
        .collect();
    plots.sort();
    files.extend(plots);
    for f in files {
        let bytes = std::fs::read(out.join(&f)).unwrap();
        lines.push(format!("{f} {:016x}", fnv(&bytes)));
    }
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    lines.push(format!(
        "report.md (timings left out) {:016x}",
        fnv(report_without_timings(&md, dir).as_bytes())
    ));
    lines.join("\n") + "\n"
}

#[test]
fn every_output_of_run_is_pinned() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("customers.csv");
    let g = segmenter(&[
        "generate",
        "customers",
        "--rows",
        "8000",
        "--seed",
        "11",
        "-o",
        s(&input),
    ]);
    assert!(g.status.success());
    let mut got = String::new();
    for (name, args) in [
        ("auto", vec![]),
        ("dbscan+compare", vec!["--algorithm", "dbscan", "--compare"]),
    ] {
        let out = dir.path().join(name);
        run_ok(&input, &out, &args);
        got += &format!("[{name}]\n{}", hashes(&out, dir.path()));
    }
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/outputs.txt");
    if std::env::var_os("BLESS").is_some() {
        std::fs::write(&golden, &got).unwrap();
    }
    let want = std::fs::read_to_string(&golden).unwrap();
    assert_eq!(got, want, "outputs changed; review, then BLESS=1");
}
