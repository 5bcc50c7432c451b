//! The command line's names for the library's parameters: its flags. Installed once at start
//! (`segmenter::error::use_names`), so every library message names the flag to change.

use segmenter::error::{Names, Param};
use std::borrow::Cow;

/// Flags as the user types them.
pub struct Flags;

/// The one instance main installs.
pub static FLAGS: Flags = Flags;

/// The flag of a parameter.
pub fn flag(p: Param) -> &'static str {
    match p {
        Param::K => "--k",
        Param::KRange => "--k-range",
        Param::SilhouetteSample => "--silhouette-sample",
        Param::SweepSample => "--sweep-sample",
        Param::Backend => "--backend",
        Param::Seed => "--seed",
        Param::NInit => "--n-init",
        Param::MaxIter => "--max-iter",
        Param::Tol => "--tol",
        Param::Init => "--init",
        Param::Assign | Param::Algorithm => "--algorithm",
        Param::Compare => "--compare",
        Param::Eps => "--eps",
        Param::MinSamples => "--min-samples",
        Param::Gamma => "--gamma",
        Param::MicroClusters => "--micro-clusters",
        Param::Threads => "--threads",
        Param::Impute => "--impute",
        Param::Outliers => "--outliers",
        Param::OutlierMethod => "--outlier-method",
        Param::Scale => "--scale",
        Param::Log => "--log",
        Param::Id => "--id",
        Param::Drop => "--drop",
        Param::Categorical => "--categorical",
        Param::Numeric => "--numeric",
        Param::Out => "--out",
        Param::Output => "-o",
        Param::Table => "--table",
        Param::Query => "--query",
        Param::Sheet => "--sheet",
        Param::DateFormat => "--date-format",
        Param::ViewEvents => "--view-events",
        Param::CartEvents => "--cart-events",
        Param::PurchaseEvents => "--purchase-events",
        Param::AsOf => "--as-of",
        Param::DayFirst => "--dayfirst",
        Param::Customer => "--customer",
        Param::Date => "--date",
        Param::Amount => "--amount",
        Param::Quantity => "--quantity",
        Param::Price => "--price",
        Param::Invoice => "--invoice",
        Param::User => "--user",
        Param::Time => "--time",
        Param::EventType => "--type",
        Param::Session => "--session",
        Param::Product => "--product",
        Param::CategoryColumn => "--category",
        Param::Brand => "--brand",
        Param::Rows => "--rows",
        Param::Dims => "--dims",
        Param::Centers => "--centers",
        Param::Std => "--std",
        Param::Iters => "--iters",
        Param::Sqlite => "--sqlite",
    }
}

impl Names for Flags {
    fn name(&self, p: Param) -> Cow<'static, str> {
        Cow::Borrowed(flag(p))
    }

    fn bare(&self, p: Param) -> Cow<'static, str> {
        Cow::Borrowed(flag(p).trim_start_matches('-'))
    }

    fn setting(&self, p: Param, value: &str) -> String {
        format!("{} {value}", flag(p))
    }
}
