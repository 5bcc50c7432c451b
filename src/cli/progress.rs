//! The terminal's progress display: a spinner per stage of the library's workflow, shown only
//! on a terminal (the library reports stages through its `Observer` trait).

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use segmenter::pipeline::{Observer, Stage};
use std::time::Duration;

/// Draws one spinner per stage on stderr while it runs, then a ✓/✗ line with its seconds.
#[derive(Default)]
pub struct Spinners {
    show: bool,
    bar: Option<ProgressBar>,
}

impl Spinners {
    /// `show`: draw anything at all (only meaningful on a terminal).
    pub fn new(show: bool) -> Self {
        Spinners { show, bar: None }
    }
}

impl Observer for Spinners {
    fn started(&mut self, stage: Stage) {
        if !self.show {
            return;
        }
        let b = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        b.set_style(
            ProgressStyle::with_template("{spinner} {msg} {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        b.set_message(stage.label());
        b.enable_steady_tick(Duration::from_millis(80));
        self.bar = Some(b);
    }

    fn finished(&mut self, stage: Stage, seconds: f64, ok: bool) {
        if let Some(b) = self.bar.take() {
            let mark = if ok { "✓" } else { "✗" };
            b.set_style(
                ProgressStyle::with_template("{msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            b.finish_with_message(format!("{mark} {} ({seconds:.2} s)", stage.label()));
        }
    }
}
