//! Value share: each segment's share of the total of a monetary column, shown next to its
//! share of customers ("18 % of customers, 66 % of revenue").

/// Words that make a column monetary, in order of preference: an RFM `monetary`, then
/// spend, revenue, sales, amount, value.
const MONEY_WORDS: [&str; 6] = ["monetary", "spend", "revenue", "sales", "amount", "value"];
/// Words that make a column a per-order or mean figure, whose sum means nothing.
const NOT_ADDITIVE: [&str; 8] = [
    "avg", "average", "mean", "per", "aov", "score", "rate", "ratio",
];

/// A segment's share of a monetary column's total.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct ValueShare {
    /// The monetary column.
    pub column: String,
    /// Share of the column's total per segment, in segment order.
    pub shares: Vec<f64>,
}

/// The monetary column among `names`, if any: the first by [`MONEY_WORDS`] preference
/// among names with such a word (split at non-letters, case-insensitive; "spent" counts as
/// spend) and no word of an average.
pub fn monetary_column(names: &[&str]) -> Option<usize> {
    let words = |n: &str| -> Vec<String> {
        n.split(|c: char| !c.is_ascii_alphabetic())
            .filter(|w| !w.is_empty())
            .map(|w| {
                let w = w.to_ascii_lowercase();
                if w == "spent" || w == "spending" {
                    "spend".to_string()
                } else {
                    w
                }
            })
            .collect()
    };
    let mut best: Option<(usize, usize)> = None;
    for (i, n) in names.iter().enumerate() {
        let ws = words(n);
        if ws.iter().any(|w| NOT_ADDITIVE.contains(&w.as_str())) {
            continue;
        }
        if let Some(rank) = MONEY_WORDS.iter().position(|m| ws.iter().any(|w| w == m)) {
            if best.is_none_or(|(r, _)| rank < r) {
                best = Some((rank, i));
            }
        }
    }
    best.map(|(_, i)| i)
}

/// The share of the total of `values` (finite ones) held by each of `groups` groups of
/// `labels` (labels ≥ groups are left out of both); NaN when the total is not positive.
pub fn value_shares(values: &[f64], labels: &[u32], groups: usize) -> Vec<f64> {
    let mut sums = vec![0f64; groups];
    let mut total = 0.0;
    for (&v, &l) in values.iter().zip(labels) {
        if v.is_finite() && (l as usize) < groups {
            sums[l as usize] += v;
            total += v;
        }
    }
    sums.into_iter()
        .map(|s| if total > 0.0 { s / total } else { f64::NAN })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_money_column() {
        assert_eq!(
            monetary_column(&["recency_days", "frequency", "monetary", "avg_order_value"]),
            Some(2)
        );
        assert_eq!(
            monetary_column(&["Time on App", "Yearly Amount Spent"]),
            Some(1)
        );
        assert_eq!(
            monetary_column(&["avg_order_value", "total_purchase_amount"]),
            Some(1)
        );
        assert_eq!(monetary_column(&["age", "avg_spend"]), None);
        assert_eq!(monetary_column(&["age", "spending_score"]), None);
        assert_eq!(
            value_shares(&[10.0, 30.0, f64::NAN, 60.0], &[0, 1, 1, 0], 2),
            vec![0.7, 0.3]
        );
    }
}
