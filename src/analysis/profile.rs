//! Segment profiles: size, share, mean and median of every original feature, level shares of
//! categoricals, lift against the population, and a generated name, description and action.

use rayon::prelude::*;

/// Original (unscaled) values of the clustered rows, in the row order of the labels.
#[derive(Clone, Debug, Default)]
pub struct ProfileInput {
    /// (column name, value per row); non-finite values are left out of that column's stats.
    pub numeric: Vec<(String, Vec<f64>)>,
    /// (column name, levels, level code per row); a code past the levels is ignored.
    pub categorical: Vec<(String, Vec<String>, Vec<u32>)>,
}

/// One numeric feature within one segment, against the whole population.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct NumericStat {
    /// Column name.
    pub column: String,
    /// Mean within the segment.
    pub mean: f64,
    /// Median within the segment (exact; mean of the middle two for an even count).
    pub median: f64,
    /// Mean over all clustered rows.
    pub overall_mean: f64,
    /// Median over all clustered rows.
    pub overall_median: f64,
    /// mean / overall_mean, for non-negative columns (below the [`WINSOR`] quantile aside)
    /// whose winsorised mean is at least [`LIFT_MIN_CV`] standard deviations from zero; NaN
    /// otherwise (a ratio to a near-zero
    /// mean reads as "+4,066 %" and says nothing: `z` measures those).
    pub lift: f64,
    /// (mean − overall_mean) / overall standard deviation: how distinctive the segment is here.
    pub z: f64,
    /// The same on values winsorised at the overall [`WINSOR`] and 1 − [`WINSOR`] quantiles:
    /// distinctiveness a handful of gross errors cannot hide (one value of 10⁶ inflates the
    /// standard deviation of every z); segment names use it.
    pub robust_z: f64,
}

/// A lift is shown only when the overall mean is at least this many standard deviations.
pub const LIFT_MIN_CV: f64 = 0.25;

/// Share of values winsorised at each end for [`NumericStat::robust_z`].
pub const WINSOR: f64 = 0.005;

/// The share of one categorical level within one segment, against the whole population.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct LevelShare {
    /// Column name.
    pub column: String,
    /// Level.
    pub level: String,
    /// Share of the segment's rows with this level.
    pub share: f64,
    /// Share of all rows with this level.
    pub overall_share: f64,
    /// share / overall_share (NaN when the level never occurs).
    pub lift: f64,
    /// (share − overall_share) / sqrt(p(1 − p)) with p the overall share: distinctiveness.
    pub z: f64,
}

/// Everything the report says about one segment.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct SegmentProfile {
    /// Segment number, as in the labels.
    pub segment: i32,
    /// Rows in the segment.
    pub size: u64,
    /// size / all rows.
    pub share: f64,
    /// Short generated name from the most distinctive features, e.g. "high spend · long membership".
    pub name: String,
    /// A plain-language paragraph.
    pub description: String,
    /// A suggested action.
    pub action: String,
    /// One entry per numeric column, in input order.
    pub numeric: Vec<NumericStat>,
    /// One entry per categorical level, in input order.
    pub categorical: Vec<LevelShare>,
}

/// Distinctiveness (|z|) a feature needs to appear in a segment's name.
pub const NAME_MIN_Z: f64 = 0.3;

/// Distinctiveness at which a money-like feature (spend, revenue, value) joins the name as a
/// third phrase when it is not among the two strongest: value is what users ask about first.
pub const NAME_MONEY_Z: f64 = 0.5;

/// Mean and exact median of finite values; NaN for none.
fn mean_median(v: &mut [f64]) -> (f64, f64) {
    if v.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let mean = v.iter().sum::<f64>() / v.len() as f64;
    let mid = v.len() / 2;
    let odd = v.len() % 2 == 1;
    let (lo, m, _) = v.select_nth_unstable_by(mid, f64::total_cmp);
    let m = *m;
    let median = if odd {
        m
    } else {
        // The largest of the lower half is the other middle value.
        let l = lo.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        (l + m) / 2.0
    };
    (mean, median)
}

/// The [`WINSOR`] and 1 − [`WINSOR`] quantiles of `v` (reordered); the extremes when there
/// are too few values to cut.
fn winsor_limits(v: &mut [f64]) -> [f64; 2] {
    let n = v.len();
    if n == 0 {
        return [f64::NEG_INFINITY, f64::INFINITY];
    }
    let cut = (WINSOR * n as f64) as usize;
    let lo = *v.select_nth_unstable_by(cut, f64::total_cmp).1;
    let hi = *v.select_nth_unstable_by(n - 1 - cut, f64::total_cmp).1;
    [lo, hi]
}

/// Profiles the `k` segments of `labels` (labels ≥ k are ignored).
pub fn profile_segments(input: &ProfileInput, labels: &[u32], k: usize) -> Vec<SegmentProfile> {
    let n = labels.len();
    let mut sizes = vec![0u64; k];
    for &l in labels {
        if (l as usize) < k {
            sizes[l as usize] += 1;
        }
    }
    let total: u64 = sizes.iter().sum();
    // Per column: per segment stats, computed column-parallel (each column is sequential, so
    // results do not depend on the thread count).
    let numeric: Vec<Vec<NumericStat>> = input
        .numeric
        .par_iter()
        .map(|(name, vals)| {
            let keep = |v: f64, l: u32| v.is_finite() && (l as usize) < k;
            let mut all: Vec<f64> = Vec::with_capacity(n);
            all.extend(
                vals.iter()
                    .zip(labels)
                    .filter(|&(&v, &l)| keep(v, l))
                    .map(|(&v, _)| v),
            );
            // Mean and variance before the median's selection reorders the values.
            let om = all.iter().sum::<f64>() / all.len() as f64;
            let var = all.iter().map(|v| (v - om).powi(2)).sum::<f64>() / all.len() as f64;
            let sd = var.sqrt();
            let (_, omed) = mean_median(&mut all);

            let [lo, hi] = winsor_limits(&mut all);
            let w = |v: f64| v.clamp(lo, hi);
            let wm = all.iter().map(|&v| w(v)).sum::<f64>() / all.len() as f64;
            let wsd =
                (all.iter().map(|&v| (w(v) - wm).powi(2)).sum::<f64>() / all.len() as f64).sqrt();
            // A ratio means something for a non-negative quantity well away from zero; judged
            // on the winsorised values, so that a few sign errors do not decide it.
            let ratio_ok = lo >= 0.0 && om > 0.0 && wm >= LIFT_MIN_CV * wsd;
            // The per-segment copies are made after the overall one is gone: two columns'
            // worth of n values at a time, not four (the peak of a 10M-row run).
            drop(all);
            let mut per: Vec<Vec<f64>> = sizes
                .iter()
                .map(|&s| Vec::with_capacity(s as usize))
                .collect();
            for (&v, &l) in vals.iter().zip(labels) {
                if keep(v, l) {
                    per[l as usize].push(v);
                }
            }
            // Segments in parallel too: five columns on two cores would leave one idle for
            // the last column.
            per.par_iter_mut()
                .map(|p| {
                    let pw = p.iter().map(|&v| w(v)).sum::<f64>() / p.len().max(1) as f64;
                    let (m, med) = mean_median(p);
                    NumericStat {
                        column: name.clone(),
                        mean: m,
                        median: med,
                        overall_mean: om,
                        overall_median: omed,
                        lift: if ratio_ok { m / om } else { f64::NAN },
                        z: if sd > 0.0 && m.is_finite() {
                            (m - om) / sd
                        } else {
                            0.0
                        },
                        robust_z: if wsd > 0.0 && m.is_finite() {
                            (pw - wm) / wsd
                        } else {
                            0.0
                        },
                    }
                })
                .collect()
        })
        .collect();
    let categorical: Vec<Vec<Vec<LevelShare>>> = input
        .categorical
        .iter()
        .map(|(name, levels, codes)| {
            let nl = levels.len();
            let mut counts = vec![vec![0u64; nl]; k];
            let mut overall = vec![0u64; nl];
            for (&c, &l) in codes.iter().zip(labels) {
                if (c as usize) < nl && (l as usize) < k {
                    counts[l as usize][c as usize] += 1;
                    overall[c as usize] += 1;
                }
            }
            (0..k)
                .map(|s| {
                    (0..nl)
                        .map(|lv| {
                            let p = if total > 0 {
                                overall[lv] as f64 / total as f64
                            } else {
                                f64::NAN
                            };
                            let share = if sizes[s] > 0 {
                                counts[s][lv] as f64 / sizes[s] as f64
                            } else {
                                f64::NAN
                            };
                            let sd = (p * (1.0 - p)).sqrt();
                            LevelShare {
                                column: name.clone(),
                                level: levels[lv].clone(),
                                share,
                                overall_share: p,
                                lift: if p > 0.0 { share / p } else { f64::NAN },
                                z: if sd > 0.0 && share.is_finite() {
                                    (share - p) / sd
                                } else {
                                    0.0
                                },
                            }
                        })
                        .collect()
                })
                .collect()
        })
        .collect();
    let mut out: Vec<SegmentProfile> = (0..k)
        .map(|s| SegmentProfile {
            segment: s as i32,
            size: sizes[s],
            share: if total > 0 {
                sizes[s] as f64 / total as f64
            } else {
                0.0
            },
            name: String::new(),
            description: String::new(),
            action: String::new(),
            numeric: numeric.iter().map(|col| col[s].clone()).collect(),
            categorical: categorical
                .iter()
                .flat_map(|col| col[s].iter().cloned())
                .collect(),
        })
        .collect();
    name_segments(&mut out);
    for p in &mut out {
        p.description = describe(p);
        p.action = suggest_action(p);
    }
    out
}

/// A feature that sets a segment apart, with the phrase used to name it.
#[derive(Clone, Debug)]
struct Trait {
    strength: f64,
    phrase: String,
    column: String,
    high: bool,
    money: bool,
}

/// The segment's distinctive features, strongest first (ties by input order).
fn traits(p: &SegmentProfile) -> Vec<Trait> {
    let mut t: Vec<Trait> = p
        .numeric
        .iter()
        .filter(|s| s.robust_z.abs() >= NAME_MIN_Z)
        .map(|s| Trait {
            strength: s.robust_z.abs(),
            phrase: phrase(&s.column, s.robust_z > 0.0),
            column: s.column.clone(),
            high: s.robust_z > 0.0,
            money: has_word(&clean_column(&s.column), &MONEY),
        })
        .collect();
    t.extend(
        p.categorical
            .iter()
            .filter(|l| l.z >= NAME_MIN_Z && l.share >= 0.25)
            .map(|l| Trait {
                strength: l.z,
                phrase: format!(
                    "mostly {} ({})",
                    clean_level(&l.level),
                    clean_column(&l.column)
                ),
                column: l.column.clone(),
                high: true,
                money: false,
            }),
    );
    // Stable sort keeps input order among equal strengths.
    t.sort_by(|a, b| b.strength.total_cmp(&a.strength));
    t
}

/// How many leading traits name the segment: the two strongest, plus the strongest money-like
/// one (moved to third place) when it is distinctive enough but not among them.
fn headline(t: &mut [Trait]) -> usize {
    let base = t.len().min(2);
    if t[..base].iter().any(|x| x.money) {
        return base;
    }
    match t
        .iter()
        .skip(base)
        .position(|x| x.money && x.strength >= NAME_MONEY_Z)
    {
        Some(i) => {
            t[base..=base + i].rotate_right(1);
            base + 1
        }
        None => base,
    }
}

/// Gives each segment a name from its two most distinctive features (and a distinctive spend,
/// see `headline`), adding features where two names collide, and the segment number where they
/// still do.
fn name_segments(profiles: &mut [SegmentProfile]) {
    let mut all: Vec<Vec<Trait>> = profiles.iter().map(traits).collect();
    let mut used: Vec<usize> = all.iter_mut().map(|t| headline(t)).collect();
    let render = |t: &[Trait], u: usize| -> String {
        if u == 0 {
            "typical customers".to_string()
        } else {
            t[..u]
                .iter()
                .map(|t| t.phrase.as_str())
                .collect::<Vec<_>>()
                .join(" · ")
        }
    };
    // Two names with the same phrases in another order are the same name to a reader (at
    // large k, "frequent · high spend" and "high spend · frequent"): compare them as sets.
    let key = |t: &[Trait], u: usize| -> Vec<String> {
        let mut k: Vec<String> = t[..u].iter().map(|t| t.phrase.clone()).collect();
        k.sort();
        k
    };
    loop {
        let names: Vec<String> = (0..profiles.len())
            .map(|i| render(&all[i], used[i]))
            .collect();
        let keys: Vec<Vec<String>> = (0..profiles.len()).map(|i| key(&all[i], used[i])).collect();
        let mut grew = false;
        for i in 0..profiles.len() {
            let dup = keys.iter().filter(|k| **k == keys[i]).count() > 1;
            if dup && used[i] < all[i].len() {
                used[i] += 1;
                grew = true;
            }
        }
        if !grew {
            for (i, p) in profiles.iter_mut().enumerate() {
                let dup = keys.iter().filter(|k| **k == keys[i]).count() > 1;
                p.name = if dup {
                    format!("{} (segment {})", names[i], p.segment)
                } else {
                    names[i].clone()
                };
            }
            return;
        }
    }
}

/// A column name as words: lower case, `_ - .` and camelCase boundaries become spaces.
pub fn clean_column(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    let mut prev_lower = false;
    for ch in name.chars() {
        if ch == '_' || ch == '-' || ch == '.' || ch.is_whitespace() {
            out.push(' ');
            prev_lower = false;
        } else {
            if ch.is_uppercase() && prev_lower {
                out.push(' ');
            }
            prev_lower = ch.is_lowercase() || ch.is_ascii_digit();
            out.extend(ch.to_lowercase());
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn clean_level(level: &str) -> String {
    let l = level.trim();
    if l.is_empty() {
        "(missing)".into()
    } else {
        l.to_string()
    }
}

/// Words marking a money-like column.
const MONEY: [&str; 9] = [
    "spent", "spend", "spending", "amount", "revenue", "monetary", "sales", "value", "price",
];

fn has_word(c: &str, words: &[&str]) -> bool {
    c.split(' ').any(|w| words.contains(&w))
}

/// The naming phrase for a column that is high (or low) in a segment, e.g.
/// "Length of Membership" → "long membership", "Yearly Amount Spent" → "high yearly spend".
pub fn phrase(column: &str, high: bool) -> String {
    let mut c = clean_column(column);
    for p in ["avg ", "average ", "mean "] {
        if let Some(rest) = c.strip_prefix(p) {
            c = rest.to_string();
        }
    }
    c = c.replace("amount spent", "spend");
    let (hi, lo) = ("high", "low");
    // The RFM table of `features rfm` / `run --from transactions` reads as RFM speaks.
    match c.as_str() {
        "recency days" => return if high { "lapsed" } else { "recent" }.into(),
        "frequency" => return if high { "frequent" } else { "infrequent" }.into(),
        "monetary" => return format!("{} spend", if high { hi } else { lo }),
        "tenure days" => return format!("{} tenure", if high { "long" } else { "short" }),
        _ => {}
    }
    if let Some(rest) = c.strip_prefix("length of ") {
        return format!("{} {rest}", if high { "long" } else { "short" });
    }
    for suffix in [" length", " duration"] {
        if let Some(base) = c.strip_suffix(suffix) {
            let plural = if base.contains(' ') || base.ends_with('s') {
                base.to_string()
            } else {
                format!("{base}s")
            };
            return format!("{} {plural}", if high { "long" } else { "short" });
        }
    }
    if has_word(&c, &["tenure", "membership"]) {
        return format!("{} {c}", if high { "long" } else { "short" });
    }
    if c.starts_with("time on ") || c.starts_with("time spent") {
        return format!("{} {c}", if high { "more" } else { "less" });
    }
    if let Some(rest) = c.strip_prefix("days since ") {
        return if high {
            format!("long since {rest}")
        } else {
            format!("recent {rest}")
        };
    }
    if c == "recency" {
        return if high { "lapsed" } else { "recent" }.into();
    }
    if c == "age" {
        return if high { "older" } else { "younger" }.into();
    }
    for p in ["number of ", "num ", "count of "] {
        if let Some(rest) = c.strip_prefix(p) {
            return format!("{} {rest}", if high { "many" } else { "few" });
        }
    }
    format!("{} {c}", if high { hi } else { lo })
}

pub use crate::io::format::{fmt_int, fmt_num, fmt_pct};

/// Turns the profile of DBSCAN's noise rows into the noise group: segment -1, named "noise",
/// described by what makes a row noise (fewer than `min_samples` rows within `eps`, none of
/// them core) and by how these rows differ from all customers.
pub fn mark_noise(p: &mut SegmentProfile, eps: f64, min_samples: usize) {
    p.segment = -1;
    p.name = "noise".into();
    // Keep the traits sentence(s) of the generated description, not its "Segment N holds" head.
    let traits = p
        .description
        .split_once(". ")
        .map_or(String::new(), |(_, rest)| format!(" {rest}"));
    p.description = format!(
        "{} customers ({} of all) lie in no dense region: fewer than {min_samples} rows within distance {eps:.3} of each, and none of those a core row.{traits}",
        fmt_int(p.size),
        fmt_pct(p.share)
    );
    p.action = "Review these customers one by one: unusual profiles, data errors, or a niche too small to target as a segment.".into();
}

fn describe(p: &SegmentProfile) -> String {
    let head = format!(
        "Segment {} holds {} customers ({} of all).",
        p.segment,
        fmt_int(p.size),
        fmt_pct(p.share)
    );
    let mut t = traits(p);
    headline(&mut t);
    if t.is_empty() {
        return format!(
            "{head} No feature differs much from the population: these are typical customers."
        );
    }
    let mut parts = Vec::new();
    for tr in t.iter().take(3) {
        if let Some(ns) = p.numeric.iter().find(|n| n.column == tr.column) {
            // A relative change only reads well for positive quantities away from zero; the
            // difference in standard deviations says it otherwise.
            let rel = if ns.lift.is_finite() && ns.mean >= 0.0 {
                format!(", {:+.0}%", (ns.lift - 1.0) * 100.0)
            } else if ns.z != 0.0 {
                format!(", {:+.1} SD", ns.z)
            } else {
                String::new()
            };
            parts.push(format!(
                "{} ({} {} against {} overall{rel})",
                tr.phrase,
                ns.column,
                fmt_num(ns.mean),
                fmt_num(ns.overall_mean)
            ));
        } else if let Some(ls) = p
            .categorical
            .iter()
            .filter(|l| l.column == tr.column)
            .max_by(|a, b| a.z.total_cmp(&b.z))
        {
            parts.push(format!(
                "{} = {} for {} of them against {} overall",
                ls.column,
                clean_level(&ls.level),
                fmt_pct(ls.share),
                fmt_pct(ls.overall_share)
            ));
        }
    }
    let list = match parts.len() {
        0 => String::new(),
        1 => parts[0].clone(),
        n => format!("{} and {}", parts[..n - 1].join(", "), parts[n - 1]),
    };
    format!("{head} Compared with all customers they stand out for {list}.")
}

/// The kind of column an action speaks about (money, tenure, app, web, recency, visits).
fn action_class(column: &str) -> Option<&'static str> {
    let c = clean_column(column);
    if has_word(&c, &MONEY) {
        Some("money")
    } else if has_word(&c, &["membership", "tenure"]) {
        Some("tenure")
    } else if has_word(&c, &["app"]) {
        Some("app")
    } else if has_word(&c, &["website", "web", "site"]) {
        Some("web")
    } else if has_word(&c, &["recency"]) || c.starts_with("days since") {
        Some("recency")
    } else if has_word(&c, &["session", "sessions", "visits", "frequency"]) {
        Some("visits")
    } else {
        None
    }
}

/// Suggested actions keyed by the kind of column and direction.
fn action_for(column: &str, high: bool) -> Option<&'static str> {
    let c = clean_column(column);
    if has_word(&c, &MONEY) {
        return Some(if high {
            "Treat as high value: loyalty rewards, premium tiers and early access; protect them from churn rather than discounting."
        } else {
            "Grow their spend with bundles, cross-sells and threshold offers (for example free shipping above a basket size)."
        });
    }
    if has_word(&c, &["membership", "tenure"]) {
        return Some(if high {
            "Reward their loyalty: anniversary perks, a referral programme, invitations to review."
        } else {
            "Onboard them well: a welcome series, guides to key features and an early second-purchase incentive."
        });
    }
    if has_word(&c, &["app"]) {
        return Some(if high {
            "Reach them in the app: app-only offers and push notifications; keep investing in the app experience."
        } else {
            "Invite them to the app with a first-use incentive."
        });
    }
    if has_word(&c, &["website", "web", "site"]) {
        return Some(if high {
            "Reach them on the website: on-site personalisation and email that lands on web pages."
        } else {
            "Reach them outside the website: email, app and social channels."
        });
    }
    if has_word(&c, &["recency"]) || c.starts_with("days since") {
        return Some(if high {
            "Win them back with a re-engagement campaign before they churn."
        } else {
            "Keep the momentum: follow up recent purchases with recommendations."
        });
    }
    if has_word(&c, &["session", "sessions", "visits", "frequency"]) {
        return Some(if high {
            "Engaged visitors: convert their attention with personalised recommendations and reminders."
        } else {
            "Re-engage with content and reminders that bring them back more often."
        });
    }
    None
}

fn suggest_action(p: &SegmentProfile) -> String {
    let mut acts: Vec<&str> = Vec::new();
    let mut t = traits(p);
    let named = headline(&mut t);
    // Value first: a named money-like trait leads the suggested actions.
    t[..named].sort_by_key(|x| !x.money);
    // One action per kind of column, from its strongest trait: with "many sessions" leading,
    // a short session length does not also earn "bring them back more often".
    let mut classes: Vec<&'static str> = Vec::new();
    for t in &t {
        if let Some(c) = action_class(&t.column) {
            if classes.contains(&c) {
                continue;
            }
            classes.push(c);
        }
        if let Some(a) = action_for(&t.column, t.high) {
            if !acts.contains(&a) {
                acts.push(a);
            }
        }
        if acts.len() == 2 {
            break;
        }
    }
    if acts.is_empty() {
        format!(
            "Study what sets this segment apart ({}) and test one targeted campaign against a control group.",
            p.name
        )
    } else {
        acts.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> (ProfileInput, Vec<u32>) {
        let input = ProfileInput {
            numeric: vec![
                (
                    "Yearly Amount Spent".into(),
                    vec![100., 200., 300., 1000., 1200., 1400., 1600.],
                ),
                (
                    "Length of Membership".into(),
                    vec![5., 4., 6., 1., 1., 2., 1.],
                ),
            ],
            categorical: vec![(
                "channel".into(),
                vec!["app".into(), "web".into()],
                vec![0, 0, 1, 1, 1, 1, 1],
            )],
        };
        (input, vec![1, 1, 1, 0, 0, 0, 0])
    }

    #[test]
    fn stats_by_hand() {
        let (input, labels) = table();
        let p = profile_segments(&input, &labels, 2);
        assert_eq!((p[0].size, p[1].size), (4, 3));
        assert!((p[0].share - 4.0 / 7.0).abs() < 1e-12);
        let spend0 = &p[0].numeric[0];
        assert_eq!(spend0.mean, 1300.0);
        assert_eq!(spend0.median, 1300.0); // (1200 + 1400) / 2
        assert_eq!(spend0.overall_median, 1000.0);
        assert!((spend0.overall_mean - 5800.0 / 7.0).abs() < 1e-9);
        assert!((spend0.lift - 1300.0 / (5800.0 / 7.0)).abs() < 1e-12);
        assert!(spend0.z > 0.5);
        let spend1 = &p[1].numeric[0];
        assert_eq!((spend1.mean, spend1.median), (200.0, 200.0));
        assert!(spend1.z < -0.5);
        // Level shares: segment 1 has app in 2 of 3 rows, overall 2 of 7.
        let app1 = &p[1].categorical[0];
        assert_eq!(app1.level, "app");
        assert!((app1.share - 2.0 / 3.0).abs() < 1e-12);
        assert!((app1.overall_share - 2.0 / 7.0).abs() < 1e-12);
        assert!((app1.lift - (2.0 / 3.0) / (2.0 / 7.0)).abs() < 1e-12);
        assert_eq!(p[0].categorical[1].share, 1.0);
    }

    #[test]
    fn names_are_distinct_and_readable() {
        let (input, labels) = table();
        let p = profile_segments(&input, &labels, 2);
        assert_eq!(p[0].name, "high yearly spend · short membership");
        assert!(p[1].name.starts_with("low yearly spend · long membership"));
        assert_ne!(p[0].name, p[1].name);
        assert!(
            p[0].description.contains(
                "high yearly spend (Yearly Amount Spent 1,300 against 828.6 overall, +57%)"
            ),
            "{}",
            p[0].description
        );
        assert!(p[0].action.contains("high value"));
        assert!(p[1].action.contains("bundles"));
    }

    #[test]
    fn names_differing_only_in_order_are_made_distinct() {
        // Segments 0 and 1 both stand out for high a and high b, in opposite strengths; the
        // set of phrases is the same, so each name grows by its next trait.
        let mut a = vec![0.0; 40];
        let mut b = vec![0.0; 40];
        let mut c = vec![0.0; 40];
        let labels: Vec<u32> = (0..40).map(|i| (i / 10) as u32).collect();
        for i in 0..40 {
            let s = i / 10;
            a[i] = [10.0, 8.0, 0.0, 0.0][s] + (i % 3) as f64 * 0.1;
            b[i] = [8.0, 10.0, 0.0, 0.0][s] + (i % 2) as f64 * 0.1;
            c[i] = [5.0, -5.0, 0.0, 0.0][s] + (i % 5) as f64 * 0.1;
        }
        let input = ProfileInput {
            numeric: vec![("a".into(), a), ("b".into(), b), ("c".into(), c)],
            categorical: vec![],
        };
        let p = profile_segments(&input, &labels, 4);
        let set = |n: &str| {
            let mut v: Vec<String> = n.split(" · ").map(String::from).collect();
            v.sort();
            v
        };
        assert_ne!(
            set(&p[0].name),
            set(&p[1].name),
            "{} / {}",
            p[0].name,
            p[1].name
        );
    }

    #[test]
    fn actions_do_not_contradict_the_name() {
        // Many sessions but short ones: the name says "many sessions"; the action must not
        // ask to bring them back more often.
        let sessions: Vec<f64> = (0..20)
            .map(|i| if i < 10 { 30.0 } else { 3.0 } + (i % 3) as f64)
            .collect();
        let length: Vec<f64> = (0..20)
            .map(|i| if i < 10 { 2.0 } else { 9.0 } + (i % 2) as f64)
            .collect();
        let input = ProfileInput {
            numeric: vec![
                ("sessions".into(), sessions),
                ("session minutes".into(), length),
            ],
            categorical: vec![],
        };
        let labels: Vec<u32> = (0..20).map(|i| u32::from(i >= 10)).collect();
        let p = profile_segments(&input, &labels, 2);
        assert!(p[0].name.starts_with("high sessions"), "{}", p[0].name);
        assert!(!p[0].action.contains("more often"), "{}", p[0].action);
    }

    #[test]
    fn no_lift_on_a_near_zero_mean() {
        // 2 buyers of 100 with 20 purchases each: overall mean 0.4, sd 2.8.
        let v: Vec<f64> = (0..100).map(|i| if i < 2 { 20.0 } else { 0.0 }).collect();
        let input = ProfileInput {
            numeric: vec![("purchases".into(), v)],
            categorical: vec![],
        };
        let labels: Vec<u32> = (0..100).map(|i| u32::from(i >= 2)).collect();
        let p = profile_segments(&input, &labels, 2);
        assert!(p[0].numeric[0].lift.is_nan());
        assert!(!p[0].description.contains("%)"), "{}", p[0].description);
        assert!(p[0].description.contains("SD"), "{}", p[0].description);
    }

    #[test]
    fn identical_segments_get_numbered_names() {
        let input = ProfileInput {
            numeric: vec![("x".into(), vec![1., 1., 1., 1.])],
            categorical: vec![],
        };
        let p = profile_segments(&input, &[0, 0, 1, 1], 2);
        assert_eq!(p[0].name, "typical customers (segment 0)");
        assert_eq!(p[1].name, "typical customers (segment 1)");
    }

    #[test]
    fn phrases_and_numbers() {
        assert_eq!(phrase("Avg Session Length", true), "long sessions");
        assert_eq!(phrase("recency_days", false), "recent");
        assert_eq!(phrase("frequency", true), "frequent");
        assert_eq!(phrase("monetary", true), "high spend");
        assert_eq!(phrase("tenure_days", true), "long tenure");
        assert_eq!(phrase("Time on App", false), "less time on app");
        assert_eq!(phrase("total_orders", true), "high total orders");
        assert_eq!(phrase("numOrders", true), "many orders");
        assert_eq!(
            phrase("days_since_last_purchase", true),
            "long since last purchase"
        );
        assert_eq!(fmt_num(1234567.8), "1,234,568");
        assert_eq!(fmt_num(-512.26), "-512.3");
        assert_eq!(fmt_num(0.5), "0.500");
        assert_eq!(fmt_num(f64::NAN), "n/a");
        assert_eq!(fmt_pct(0.25), "25.0%");
        assert_eq!(fmt_int(1234567), "1,234,567");
        assert_eq!(fmt_int(12), "12");
    }

    #[test]
    fn distinctive_spend_joins_the_name_third() {
        let stat = |column: &str, z: f64| NumericStat {
            column: column.into(),
            mean: 1.0 + z,
            median: 1.0 + z,
            overall_mean: 1.0,
            overall_median: 1.0,
            lift: 1.0 + z,
            z,
            robust_z: z,
        };
        let seg = |segment: i32, zs: [f64; 3]| SegmentProfile {
            segment,
            size: 10,
            share: 0.5,
            name: String::new(),
            description: String::new(),
            action: String::new(),
            numeric: vec![
                stat("Length of Membership", zs[0]),
                stat("Time on Website", zs[1]),
                stat("Yearly Amount Spent", zs[2]),
            ],
            categorical: vec![],
        };
        let mut p = vec![seg(0, [-1.1, -0.8, 0.6]), seg(1, [1.1, 0.8, 0.4])];
        name_segments(&mut p);
        assert_eq!(
            p[0].name,
            "short membership · less time on website · high yearly spend"
        );
        // Below NAME_MONEY_Z the spend stays out of the name.
        assert_eq!(p[1].name, "long membership · more time on website");
        assert!(suggest_action(&p[0]).starts_with("Treat as high value"));
    }
}
