//! Progress: the stages a segmentation goes through, an [`Observer`] the library tells about
//! each one (a terminal spinner, a notebook progress bar, a server log), and their timings.

use serde::ser::{Serialize, SerializeMap, Serializer};
use std::time::Instant;

/// One stage of the workflow, in the order they run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Stage {
    /// Reading the input table.
    Read,
    /// Inferring what each column holds.
    Schema,
    /// Duplicates, unusable values, imputation, outliers.
    Clean,
    /// One-hot encoding, log and scaling.
    Encode,
    /// The k sweep and the rule that picks k.
    ChooseK,
    /// The clustering whose segments are written.
    Cluster,
    /// The other algorithms of a comparison.
    Compare,
    /// Principal components.
    Pca,
    /// Profiles, names, silhouettes.
    Profile,
    /// segments.csv, rejects.csv, model.json.
    Write,
    /// The report and its plots.
    Report,
}

impl Stage {
    /// Key of the stage in timings (`stage_seconds` in JSON).
    pub fn key(self) -> &'static str {
        match self {
            Stage::Read => "read",
            Stage::Schema => "schema",
            Stage::Clean => "clean",
            Stage::Encode => "encode",
            Stage::ChooseK => "choose_k",
            Stage::Cluster => "cluster",
            Stage::Compare => "compare",
            Stage::Pca => "pca",
            Stage::Profile => "profile",
            Stage::Write => "write",
            Stage::Report => "report",
        }
    }

    /// What the stage does, for a progress display.
    pub fn label(self) -> &'static str {
        match self {
            Stage::Read => "reading the table",
            Stage::Schema => "inferring the schema",
            Stage::Clean => "cleaning",
            Stage::Encode => "encoding and scaling",
            Stage::ChooseK => "choosing k",
            Stage::Cluster => "clustering",
            Stage::Compare => "comparing algorithms",
            Stage::Pca => "projecting (PCA)",
            Stage::Profile => "profiling segments",
            Stage::Write => "writing segments, rejects and model",
            Stage::Report => "writing the report and plots",
        }
    }
}

/// Told about every stage as it starts and ends; every method has a default that does
/// nothing, so an observer implements only what it shows.
pub trait Observer {
    /// `stage` starts.
    fn started(&mut self, _stage: Stage) {}
    /// `stage` ended after `seconds`, successfully or not.
    fn finished(&mut self, _stage: Stage, _seconds: f64, _ok: bool) {}
}

/// An observer that shows nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct Quiet;

impl Observer for Quiet {}

/// Seconds per stage, in the order the stages ran (serialised as a JSON object).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct StageTimes(pub Vec<(String, f64)>);

impl Serialize for StageTimes {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl StageTimes {
    /// Sum of all stages.
    pub fn total(&self) -> f64 {
        self.0.iter().map(|(_, s)| s).sum()
    }

    /// Records `seconds` for `stage`.
    pub fn record(&mut self, stage: Stage, seconds: f64) {
        self.0.push((stage.key().to_string(), seconds));
    }

    /// Runs `f` as `stage`: tells `observer`, times it, records it.
    pub fn run<T, E>(
        &mut self,
        observer: &mut dyn Observer,
        stage: Stage,
        f: impl FnOnce() -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        observer.started(stage);
        let t = Instant::now();
        let r = f();
        let secs = t.elapsed().as_secs_f64();
        observer.finished(stage, secs, r.is_ok());
        self.record(stage, secs);
        r
    }
}
