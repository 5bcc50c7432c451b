//! Initial centroids: greedy k-means++ (as scikit-learn), random rows, or the first k rows.

use super::params::Init;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

/// Rows per parallel chunk; fixed so that sums combine in the same order on any thread count.
pub(crate) const ROWS_PER_CHUNK: usize = 4096;

/// Chooses `k` initial centroids from the row-major n×d matrix `x`, returned row-major k×d.
pub fn initial_centroids(
    x: &[f32],
    d: usize,
    k: usize,
    init: Init,
    rng: &mut ChaCha8Rng,
) -> Vec<f32> {
    let n = x.len() / d;
    match init {
        Init::First => x[..k * d].to_vec(),
        Init::Random => {
            let picks = rand::seq::index::sample(rng, n, k);
            let mut c = Vec::with_capacity(k * d);
            for i in picks.iter() {
                c.extend_from_slice(&x[i * d..(i + 1) * d]);
            }
            c
        }
        Init::KMeansPlusPlus => kmeans_plus_plus(x, d, k, rng),
    }
}

fn sq_dist(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(p, q)| (p - q) * (p - q)).sum()
}

/// Greedy k-means++: each step draws 2 + ln k candidates with probability proportional to the
/// squared distance to the chosen centres and keeps the one that lowers the potential most.
fn kmeans_plus_plus(x: &[f32], d: usize, k: usize, rng: &mut ChaCha8Rng) -> Vec<f32> {
    let n = x.len() / d;
    let trials = 2 + (k as f64).ln() as usize;
    let mut centers = Vec::with_capacity(k * d);
    let first = rng.random_range(0..n);
    centers.extend_from_slice(&x[first * d..(first + 1) * d]);
    let mut closest: Vec<f32> = x
        .par_chunks(d)
        .map(|p| sq_dist(p, &x[first * d..(first + 1) * d]))
        .collect();
    let mut cumsum = vec![0f64; n];
    for _ in 1..k {
        // Sequential prefix sum: the draw must not depend on the thread count.
        let mut acc = 0f64;
        for (c, &v) in cumsum.iter_mut().zip(&closest) {
            acc += v as f64;
            *c = acc;
        }
        let pot = acc;
        let candidates: Vec<usize> = (0..trials)
            .map(|_| {
                let r = rng.random::<f64>() * pot;
                cumsum.partition_point(|&c| c <= r).min(n - 1)
            })
            .collect();
        // Potential after adding each candidate, summed per fixed chunk then in chunk order.
        let partials: Vec<Vec<f64>> = x
            .par_chunks(ROWS_PER_CHUNK * d)
            .zip(closest.par_chunks(ROWS_PER_CHUNK))
            .map(|(xs, cl)| {
                let mut pots = vec![0f64; trials];
                for (p, &c0) in xs.chunks_exact(d).zip(cl) {
                    for (t, &ci) in candidates.iter().enumerate() {
                        pots[t] += sq_dist(p, &x[ci * d..(ci + 1) * d]).min(c0) as f64;
                    }
                }
                pots
            })
            .collect();
        let mut pots = vec![0f64; trials];
        for part in &partials {
            for (a, b) in pots.iter_mut().zip(part) {
                *a += b;
            }
        }
        // Lowest potential wins; ties go to the earliest candidate.
        let mut best = 0;
        for t in 1..trials {
            if pots[t] < pots[best] {
                best = t;
            }
        }
        let b = candidates[best];
        let bc = &x[b * d..(b + 1) * d];
        closest
            .par_iter_mut()
            .zip(x.par_chunks(d))
            .for_each(|(c, p)| *c = c.min(sq_dist(p, bc)));
        centers.extend_from_slice(bc);
    }
    centers
}

/// The first random generator of a run, seeded so that results depend only on the seed.
pub fn rng_from_seed(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_takes_leading_rows() {
        let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let mut rng = rng_from_seed(0);
        assert_eq!(
            initial_centroids(&x, 2, 2, Init::First, &mut rng),
            vec![1.0, 2.0, 3.0, 4.0]
        );
    }

    #[test]
    fn plus_plus_spreads_over_separated_groups() {
        // Three tight groups far apart: k-means++ must pick one centre in each.
        let mut x = Vec::new();
        for g in 0..3 {
            for i in 0..50 {
                x.push(g as f32 * 100.0 + (i % 5) as f32 * 0.01);
                x.push(-(g as f32) * 50.0);
            }
        }
        for seed in 0..5 {
            let c = initial_centroids(&x, 2, 3, Init::KMeansPlusPlus, &mut rng_from_seed(seed));
            let mut groups: Vec<i32> = c.chunks(2).map(|p| (p[0] / 100.0).round() as i32).collect();
            groups.sort();
            assert_eq!(groups, vec![0, 1, 2], "seed {seed}");
        }
    }

    #[test]
    fn random_picks_distinct_rows() {
        let x: Vec<f32> = (0..20).map(|v| v as f32).collect();
        let c = initial_centroids(&x, 1, 20, Init::Random, &mut rng_from_seed(3));
        let mut s = c.clone();
        s.sort_by(f32::total_cmp);
        assert_eq!(s, x);
    }
}
