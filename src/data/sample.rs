//! Seeded row samples: every sampled statistic (sweep, silhouette, eps suggestion, report
//! plots) draws its rows here, so a seed reproduces them all.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// `sample` distinct row indices of `0..n`, ascending, drawn with a generator seeded by `seed`
/// (all rows when `sample >= n`).
pub fn sample_indices(n: usize, sample: usize, seed: u64) -> Vec<usize> {
    if sample >= n {
        return (0..n).collect();
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut idx = rand::seq::index::sample(&mut rng, n, sample).into_vec();
    idx.sort_unstable();
    idx
}
