//! The clustering algorithms `run` can use, by name.

use crate::error::{ParamError, Result};
use serde::{Deserialize, Serialize};

/// A clustering algorithm of `run --algorithm` and `--compare`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ClusterAlgorithm {
    /// k-means on the scaled, one-hot encoded features (CPU or GPU).
    #[default]
    Kmeans,
    /// Density-based: clusters of dense regions, sparse rows labelled noise (-1).
    Dbscan,
    /// Agglomerative clustering with Ward's criterion, cut at k.
    Hierarchical,
    /// k-means for mixed data: numeric distance plus γ × categorical mismatches.
    Kprototypes,
}

impl ClusterAlgorithm {
    /// Every algorithm, in the order `--compare` tabulates them.
    pub const ALL: [ClusterAlgorithm; 4] = [
        ClusterAlgorithm::Kmeans,
        ClusterAlgorithm::Dbscan,
        ClusterAlgorithm::Hierarchical,
        ClusterAlgorithm::Kprototypes,
    ];

    /// Name on the command line, in JSON and in reports.
    pub fn name(self) -> &'static str {
        match self {
            ClusterAlgorithm::Kmeans => "kmeans",
            ClusterAlgorithm::Dbscan => "dbscan",
            ClusterAlgorithm::Hierarchical => "hierarchical",
            ClusterAlgorithm::Kprototypes => "kprototypes",
        }
    }

    /// Whether the algorithm is given the number of clusters (`--k`) rather than finding it.
    pub fn takes_k(self) -> bool {
        self != ClusterAlgorithm::Dbscan
    }

    /// Parses one name.
    pub fn parse(s: &str) -> Result<ClusterAlgorithm> {
        let t = s.trim();
        Self::ALL
            .into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(t))
            .ok_or_else(|| ParamError::CompareUnknown(t.to_string()).into())
    }

    /// Parses `--compare`'s list (`all` for every algorithm), keeping the given order and
    /// dropping repeats.
    pub fn parse_list(s: &str) -> Result<Vec<ClusterAlgorithm>> {
        if s.trim().eq_ignore_ascii_case("all") {
            return Ok(Self::ALL.to_vec());
        }
        let mut out = Vec::new();
        for part in s.split(',').filter(|p| !p.trim().is_empty()) {
            let a = Self::parse(part)?;
            if !out.contains(&a) {
                out.push(a);
            }
        }
        if out.is_empty() {
            return Err(ParamError::CompareEmpty.into());
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::ClusterAlgorithm as A;

    #[test]
    fn lists_parse_in_order_without_repeats() {
        assert_eq!(
            A::parse_list("dbscan, kmeans,dbscan").ok(),
            Some(vec![A::Dbscan, A::Kmeans])
        );
        assert_eq!(A::parse_list("ALL").ok(), Some(A::ALL.to_vec()));
        assert_eq!(
            A::parse_list("kmeans,ward").err().map(|e| e.to_string()),
            Some("compare 'ward': unknown algorithm; use a comma-separated list of kmeans, dbscan, hierarchical, kprototypes, or all".into())
        );
    }
}
