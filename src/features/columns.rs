//! Finding the columns a feature builder needs: the one a parameter names, else the first of
//! a list of common names (compared ignoring case, spaces and underscores).

use crate::error::{ColumnParam, Error, Result};
use crate::io::Source;

/// How one column is looked for.
#[derive(Clone, Copy, Debug)]
pub struct Want<'a> {
    /// What the column holds, for messages ("customer id").
    pub role: &'static str,
    /// The parameter that names it.
    pub param: ColumnParam,
    /// The name given with the parameter, if any.
    pub given: Option<&'a str>,
    /// Common names tried in order when the parameter is absent.
    pub aliases: &'static [&'static str],
}

fn normal(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

fn listing(columns: &[String]) -> String {
    columns.join(", ")
}

/// The index of the column, `None` when it was not given and no alias matches.
pub fn find(src: &Source, w: &Want<'_>) -> Result<Option<usize>> {
    let cols = src.columns();
    if let Some(g) = w.given {
        return cols
            .iter()
            .position(|c| c == g)
            .or_else(|| cols.iter().position(|c| c.eq_ignore_ascii_case(g.trim())))
            .map(Some)
            .ok_or_else(|| Error::UnknownColumn {
                path: src.path().into(),
                param: match w.param {
                    ColumnParam::One(p) => p,
                    ColumnParam::AmountOrQuantityPrice => crate::error::Param::Amount,
                },
                column: g.into(),
                columns: listing(cols),
            });
    }
    let normals: Vec<String> = cols.iter().map(|c| normal(c)).collect();
    Ok(w.aliases
        .iter()
        .find_map(|a| normals.iter().position(|n| *n == normal(a))))
}

/// Like [`find`], failing with a message naming the parameter when the column is not found.
pub fn require(src: &Source, w: &Want<'_>) -> Result<usize> {
    find(src, w)?.ok_or_else(|| Error::NoColumn {
        path: src.path().into(),
        role: w.role.into(),
        param: w.param,
        tried: w.aliases.join(", "),
        columns: listing(src.columns()),
    })
}

/// A [`Want`] from a parameter's optional value.
pub fn want<'a>(
    role: &'static str,
    param: ColumnParam,
    given: &'a Option<String>,
    aliases: &'static [&'static str],
) -> Want<'a> {
    Want {
        role,
        param,
        given: given.as_deref(),
        aliases,
    }
}
